//! Texts people read, in Ukrainian and English, kept in TOML resource files rather than
//! scattered literals. A catalogue is built from the shared files (status names) plus a
//! service's own; `{name}` placeholders are filled from arguments.

use std::collections::HashMap;

use proto_events::OrderStatus;

/// Languages we speak; the first is the default.
pub const LANGUAGES: [&str; 2] = ["uk", "en"];
pub const DEFAULT_LANGUAGE: &str = "uk";

const SHARED: [(&str, &str); 2] = [
    ("uk", include_str!("../locales/uk.toml")),
    ("en", include_str!("../locales/en.toml")),
];

#[derive(Debug, Clone)]
pub struct Catalog {
    /// language -> dotted key -> text
    texts: HashMap<String, HashMap<String, String>>,
}

impl Catalog {
    /// The shared texts plus `own` resources, given as (language, TOML source) pairs.
    /// Panics on malformed TOML: resources are compiled in, so a test catches it.
    pub fn new(own: &[(&str, &str)]) -> Catalog {
        let mut texts: HashMap<String, HashMap<String, String>> = HashMap::new();
        for (language, source) in SHARED.iter().chain(own) {
            let table: toml_table::Table = source
                .parse()
                .unwrap_or_else(|e| panic!("{language} texts: {e}"));
            flatten("", &table, texts.entry((*language).to_owned()).or_default());
        }
        Catalog { texts }
    }

    /// The language we answer in for a client's language tag (`en-GB` -> `en`).
    pub fn language_for(tag: Option<&str>) -> &'static str {
        let primary = tag
            .unwrap_or("")
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        LANGUAGES
            .into_iter()
            .find(|l| *l == primary)
            .unwrap_or(DEFAULT_LANGUAGE)
    }

    /// The text for `key`, falling back to the default language, then to the key itself
    /// (logged: a missing text is a defect, but never a crash).
    pub fn text(&self, language: &str, key: &str) -> String {
        self.lookup(language, key).unwrap_or_else(|| {
            tracing::error!(language, key, "missing text");
            key.to_owned()
        })
    }

    /// Like [`Catalog::text`], with `{name}` placeholders replaced.
    ///
    /// One pass over the template: a value is never searched for placeholders itself, so
    /// customer text containing `{reason}` stays as typed.
    pub fn format(&self, language: &str, key: &str, args: &[(&str, &str)]) -> String {
        let template = self.text(language, key);
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                args.iter()
                    .find(|(name, _)| *name == &after[..close])
                    .map(|(_, v)| (close, *v))
            });
            match value {
                Some((close, value)) => {
                    out.push_str(value);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn status(&self, language: &str, status: OrderStatus) -> String {
        self.text(language, &format!("status.{}", status.as_str()))
    }

    fn lookup(&self, language: &str, key: &str) -> Option<String> {
        let language = Catalog::language_for(Some(language));
        self.texts
            .get(language)
            .and_then(|t| t.get(key))
            .or_else(|| self.texts.get(DEFAULT_LANGUAGE).and_then(|t| t.get(key)))
            .cloned()
    }

    /// Keys present in one language but not another: tests assert this is empty.
    pub fn missing_keys(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for a in LANGUAGES {
            for b in LANGUAGES {
                let (Some(ta), Some(tb)) = (self.texts.get(a), self.texts.get(b)) else {
                    continue;
                };
                for key in ta.keys().filter(|k| !tb.contains_key(*k)) {
                    missing.push(format!("{b}: {key}"));
                }
            }
        }
        missing.sort();
        missing
    }
}

fn flatten(prefix: &str, table: &toml_table::Table, out: &mut HashMap<String, String>) {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml_table::Value::String(text) => {
                out.insert(full, text.clone());
            }
            toml_table::Value::Table(inner) => flatten(&full, inner, out),
            other => panic!("text {full} must be a string, found {other}"),
        }
    }
}

/// The TOML parser the `config` crate already builds on.
mod toml_table {
    pub use toml::{Table, Value};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_a_name_in_every_language() {
        let catalog = Catalog::new(&[]);
        assert!(
            catalog.missing_keys().is_empty(),
            "{:?}",
            catalog.missing_keys()
        );
        for status in OrderStatus::ALL {
            for language in LANGUAGES {
                assert_ne!(catalog.status(language, status), format!("status.{status}"));
            }
        }
        assert_eq!(catalog.status("en-GB", OrderStatus::Ready), "Ready");
        assert_eq!(catalog.status("de", OrderStatus::Ready), "Готово");
    }

    #[test]
    fn placeholders_are_filled_in_one_pass() {
        let catalog = Catalog::new(&[
            ("uk", "[t]\nx = \"{a} and {b} {unknown}\""),
            ("en", "[t]\nx = \"{a}\""),
        ]);
        assert_eq!(
            catalog.format("uk", "t.x", &[("a", "{b}"), ("b", "B")]),
            "{b} and B {unknown}"
        );
    }
}
