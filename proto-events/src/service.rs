//! Bureau's services by name: the one spelling used wherever a service names itself, in
//! the broker's connection list, as an event's producer, as its queue and inbox consumer,
//! in its logs, and as its binary.

use std::fmt;

/// One of the five services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    PersistenceWorker,
    StorageWorker,
    Notifier,
    WebGateway,
    BotGateway,
}

impl Service {
    /// Every service, consumers first: the order in which `bureau run` starts them.
    pub const ALL: [Service; 5] = [
        Service::PersistenceWorker,
        Service::StorageWorker,
        Service::Notifier,
        Service::WebGateway,
        Service::BotGateway,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Service::PersistenceWorker => "persistence-worker",
            Service::StorageWorker => "storage-worker",
            Service::Notifier => "notifier",
            Service::WebGateway => "web-gateway",
            Service::BotGateway => "bot-gateway",
        }
    }

    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .find(|service| service.name() == name)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for service in Service::ALL {
            assert_eq!(Service::parse(service.name()), Some(service));
        }
        assert_eq!(Service::parse("bureau"), None);
    }
}
