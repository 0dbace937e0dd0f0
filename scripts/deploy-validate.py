#!/usr/bin/env python3
"""Validates rendered Kubernetes objects (a YAML stream on stdin, `kubectl kustomize` output).

Run by scripts/deploy-check inside its venv. Every object must validate, strictly (unknown
fields are errors), against the Kubernetes schemas kubernetes-validate ships, for each
version in --kubernetes. KEDA's objects (keda.sh/v1alpha1) are not in those schemas: they
are validated against KEDA's CRDs as cloudcoil-models-keda packages them (pydantic models
generated from the CRDs' OpenAPI schemas), with unknown fields forbidden, and the metadata
of each `rabbitmq` trigger against the parameters KEDA's RabbitMQ scaler documents. Any
other kind without a schema is an error, never a silent pass.
"""

import argparse
import inspect
import sys

import kubernetes_validate
import pydantic
import yaml

# KEDA's RabbitMQ Queue scaler (keda.sh/docs/2.16/scalers/rabbitmq-queue): the trigger's
# metadata is a free-form string map in the CRD, so its keys are checked here.
RABBITMQ_TRIGGER_KEYS = {
    "host", "hostFromEnv", "usernameFromEnv", "passwordFromEnv", "protocol", "mode", "value",
    "activationValue", "queueName", "vhostName", "useRegex", "excludeUnacknowledged",
    "pageSize", "operation", "timeout", "unsafeSsl",
}
RABBITMQ_MODES = {"QueueLength", "MessageRate"}
RABBITMQ_PROTOCOLS = {"auto", "amqp", "http"}


def strict_keda_models():
    """KEDA's models with unknown fields forbidden (cloudcoil leaves them ignored)."""
    from cloudcoil import apimachinery
    from cloudcoil.models.keda import v1alpha1 as keda

    models = [
        value
        for module in (apimachinery, keda)
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, pydantic.BaseModel)
        and value.__module__ == module.__name__
    ]
    # A model embeds its fields' schemas when it is built, so rebuild in definition order
    # (fields before the models holding them), as often as models nest.
    for _ in range(8):
        for model in models:
            model.model_config["extra"] = "forbid"
            model.model_rebuild(force=True)
    return {"ScaledObject": keda.ScaledObject, "TriggerAuthentication": keda.TriggerAuthentication}


def validate_keda(obj, models):
    kind = obj.get("kind")
    model = models.get(kind)
    if model is None:
        return [f"no KEDA schema for kind {kind}"]
    errors = []
    try:
        model.model_validate(obj)
    except pydantic.ValidationError as error:
        errors += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
    if kind == "ScaledObject":
        for index, trigger in enumerate(obj.get("spec", {}).get("triggers", [])):
            if trigger.get("type") != "rabbitmq":
                continue
            metadata = trigger.get("metadata", {})
            where = f"spec.triggers.{index}.metadata"
            errors += [f"{where}.{key}: not a RabbitMQ scaler parameter"
                       for key in sorted(set(metadata) - RABBITMQ_TRIGGER_KEYS)]
            if metadata.get("mode") not in RABBITMQ_MODES:
                errors.append(f"{where}.mode: one of {sorted(RABBITMQ_MODES)}")
            if metadata.get("protocol", "auto") not in RABBITMQ_PROTOCOLS:
                errors.append(f"{where}.protocol: one of {sorted(RABBITMQ_PROTOCOLS)}")
            if not metadata.get("queueName"):
                errors.append(f"{where}.queueName: missing")
            try:
                float(metadata.get("value", ""))
            except ValueError:
                errors.append(f"{where}.value: a number in a string")
            if "host" not in metadata and "hostFromEnv" not in metadata and "authenticationRef" not in trigger:
                errors.append(f"spec.triggers.{index}: no host, hostFromEnv or authenticationRef")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes", action="append", required=True,
                        help="a Kubernetes version to validate against (repeatable)")
    parser.add_argument("--name", default="stdin", help="what is validated, for messages")
    args = parser.parse_args()

    objects = [o for o in yaml.safe_load_all(sys.stdin) if o]
    if not objects:
        print(f"ERROR {args.name}: nothing rendered")
        return 1
    keda_models = None
    failures = 0
    for obj in objects:
        label = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        if str(obj.get("apiVersion", "")).startswith("keda.sh/"):
            keda_models = keda_models or strict_keda_models()
            errors = validate_keda(obj, keda_models)
            versions = "KEDA 2.16 CRD"
        else:
            errors = []
            for version in args.kubernetes:
                try:
                    kubernetes_validate.validate(obj, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    path = ".".join(map(str, error.path))
                    errors.append(f"Kubernetes {version}: {path}: {error.message}")
                except kubernetes_validate.SchemaNotFoundError:
                    errors.append(f"Kubernetes {version}: no schema for {obj.get('apiVersion')} {obj.get('kind')}")
            versions = "Kubernetes " + ", ".join(args.kubernetes)
        if errors:
            failures += 1
            for error in errors:
                print(f"ERROR {args.name}: {label}: {error}")
        else:
            print(f"ok    {args.name}: {label} ({versions})")
    print(f"{args.name}: {len(objects) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
