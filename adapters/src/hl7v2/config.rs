//! Settings of a `kind: hl7v2` adapter and their pure validation.

use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::outbox::{OutboxConfig, RetryConfig};

/// Settings of a `kind: hl7v2` adapter: an HL7 v2 EHR over MLLP. Appointment and Encounter
/// writes routed to it become SIU/ADT messages sent through a durable outbox (`send`);
/// messages the EHR sends (`listen`) are mapped to FHIR and written to the `store` adapter.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hl7v2Config {
    /// Name of the adapter (defined earlier in `adapters:`) that inbound messages are
    /// written to and that resolves the Patient and Practitioner of outbound messages.
    pub store: String,
    /// The EHR's MLLP listener that outbound messages go to. Unset: nothing is sent
    /// (writes routed here are refused with 501).
    #[serde(default)]
    pub send: Option<SendConfig>,
    /// Our MLLP listener for messages from the EHR. Unset: no listener.
    #[serde(default)]
    pub listen: Option<ListenConfig>,
    /// IANA time zone of the EHR's local time, for v2 times without an offset (e.g.
    /// `America/New_York`). Unset: such times keep date precision, with a warning.
    #[serde(default)]
    pub timezone: Option<String>,
    /// MSH-12 version of outbound messages, `"2.3"` to `"2.8.2"` (quoted: YAML reads `2.8` as a
    /// number). Default `2.5.1`.
    #[serde(default = "default_version")]
    pub version: String,
    /// Where a virtual visit is marked in PV1 (HL7 table 0004 has no virtual class).
    #[serde(default)]
    pub virtual_marker: VirtualMarkerConfig,
    /// Z-segments: `keep` (as an extension, and written back out) or `drop`. Default `keep`.
    #[serde(default)]
    pub z_segments: ZSegmentsConfig,
    /// MSH-3 sending application of outbound messages. Default `FHIRGATE`. MSH-3 to MSH-6
    /// are HD values (HL7 v2.5.1 §2.A.33): a namespace id (up to 20 characters, e.g. `EPIC`),
    /// optionally followed by `^universal id^universal id type` (e.g.
    /// `GENHOSP^2.16.840.1.113883.19.5^ISO`; the type from table 0301). `|`, `~`, `&`, `\`
    /// and control characters are refused.
    #[serde(default = "default_sending_application")]
    pub sending_application: String,
    /// MSH-4 sending facility of outbound messages (HD, as for `sending_application`).
    /// Default empty.
    #[serde(default)]
    pub sending_facility: String,
    /// MSH-5 receiving application of outbound messages (HD). Default empty.
    #[serde(default)]
    pub receiving_application: String,
    /// MSH-6 receiving facility of outbound messages (HD). Default empty.
    #[serde(default)]
    pub receiving_facility: String,
    /// The durable outbox holding messages until the EHR acknowledges them.
    #[serde(default)]
    pub outbox: OutboxConfig,
    /// Redelivery after transient failures (connection refused, timeout, ACK AR/CR).
    #[serde(default)]
    pub retry: RetryConfig,
}

/// The EHR's MLLP endpoint (outbound).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendConfig {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Milliseconds a TCP connect may take. Default 5000.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_ms: u64,
    /// Milliseconds to wait for the ACK after sending. Default 30000.
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout_ms: u64,
}

/// Our MLLP listener (inbound).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// `ip:port` to listen on, e.g. `127.0.0.1:2575`. Port 0 picks a free port; the bound
    /// address is logged and written to `hl7v2-<adapter>.addr` in the data directory.
    pub address: String,
    /// Peers allowed to connect, as IP addresses or CIDR networks (`10.1.0.0/16`). Deny by
    /// default: other peers are disconnected before a byte is read (logged with their
    /// address). Default: loopback only (`127.0.0.0/8`, `::1/128`). MLLP has no
    /// authentication of its own; put the listener on a private network or behind a TLS
    /// tunnel and list the EHR's interface engine here.
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
}

impl ListenConfig {
    /// The parsed `allow` list; entries that do not parse are left out (`validate` reports
    /// them).
    pub fn allowed(&self) -> Vec<ipnet::IpNet> {
        self.allow.iter().filter_map(|a| parse_net(a)).collect()
    }
}

/// An IP address (a /32 or /128 network) or a CIDR network.
fn parse_net(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

fn default_allow() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}

/// `PV1-<field>` = `value` marks a virtual visit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualMarkerConfig {
    /// PV1 field number (1–52). Default 18 (patient type).
    #[serde(default = "default_marker_field")]
    pub field: usize,
    /// The value marking a virtual visit. Default `VR`.
    #[serde(default = "default_marker_value")]
    pub value: String,
}

impl Default for VirtualMarkerConfig {
    fn default() -> Self {
        Self {
            field: default_marker_field(),
            value: default_marker_value(),
        }
    }
}

/// Z-segment handling.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ZSegmentsConfig {
    /// Keep as an extension.
    #[default]
    Keep,
    /// Drop.
    Drop,
}

fn default_version() -> String {
    "2.5.1".into()
}
fn default_sending_application() -> String {
    "FHIRGATE".into()
}
fn default_connect_timeout() -> u64 {
    5_000
}
fn default_ack_timeout() -> u64 {
    30_000
}
fn default_marker_field() -> usize {
    18
}
fn default_marker_value() -> String {
    "VR".into()
}

impl Hl7v2Config {
    /// Pure checks; key paths relative to `adapters.<name>`.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.store.trim().is_empty() {
            problems.push(ConfigProblem::new("store", "name the store adapter"));
        }
        if let Some(s) = &self.send {
            if s.host.trim().is_empty() {
                problems.push(ConfigProblem::new("send.host", "must not be empty"));
            }
            if s.port == 0 {
                problems.push(ConfigProblem::new("send.port", "must be 1-65535"));
            }
            if s.connect_timeout_ms == 0 {
                problems.push(ConfigProblem::new(
                    "send.connect_timeout_ms",
                    "must be at least 1",
                ));
            }
            if s.ack_timeout_ms == 0 {
                problems.push(ConfigProblem::new(
                    "send.ack_timeout_ms",
                    "must be at least 1",
                ));
            }
        }
        if let Some(l) = &self.listen
            && l.address.parse::<std::net::SocketAddr>().is_err()
        {
            problems.push(ConfigProblem::new("listen.address", "must be ip:port"));
        }
        if let Some(l) = &self.listen {
            for (i, a) in l.allow.iter().enumerate() {
                if parse_net(a).is_none() {
                    problems.push(ConfigProblem::new(
                        format!("listen.allow.{i}"),
                        "must be an IP address or a CIDR network like 10.1.0.0/16",
                    ));
                }
            }
        }
        if let Some(tz) = &self.timezone
            && fhirgate_mappings::hl7v2::Context::new(Some(tz)).is_err()
        {
            problems.push(ConfigProblem::new("timezone", "not a known IANA time zone"));
        }
        if !fhirgate_mappings::hl7v2::INPUT_VERSIONS.contains(&self.version.as_str()) {
            problems.push(ConfigProblem::new("version", "must be one of 2.3 to 2.8.2"));
        }
        if !(1..=52).contains(&self.virtual_marker.field) {
            problems.push(ConfigProblem::new("virtual_marker.field", "must be 1-52"));
        }
        if self.virtual_marker.value.is_empty() {
            problems.push(ConfigProblem::new(
                "virtual_marker.value",
                "must not be empty",
            ));
        }
        if self.sending_application.trim().is_empty() {
            problems.push(ConfigProblem::new(
                "sending_application",
                "must not be empty",
            ));
        }
        for (key, value) in [
            ("sending_application", &self.sending_application),
            ("sending_facility", &self.sending_facility),
            ("receiving_application", &self.receiving_application),
            ("receiving_facility", &self.receiving_facility),
        ] {
            if let Some(why) = fhirgate_mappings::hl7v2::write::hd_problem(value) {
                problems.push(ConfigProblem::new(key, why));
            }
        }
        let nested = |prefix: &str, list: Vec<ConfigProblem>| {
            list.into_iter()
                .map(|p| ConfigProblem::new(format!("{prefix}.{}", p.path), p.problem))
                .collect::<Vec<_>>()
        };
        problems.extend(nested("outbox", self.outbox.validate()));
        problems.extend(nested("retry", self.retry.validate()));
        problems
    }

    /// The inbound mapping context.
    pub(crate) fn mapping_context(&self) -> fhirgate_mappings::hl7v2::Context {
        let mut ctx =
            fhirgate_mappings::hl7v2::Context::new(self.timezone.as_deref()).unwrap_or_default();
        ctx.z_segments = self.z();
        ctx.virtual_marker = self.marker();
        ctx
    }

    /// The outbound write options (event and control id chosen per message).
    pub(crate) fn write_options(&self) -> fhirgate_mappings::hl7v2::WriteOptions {
        fhirgate_mappings::hl7v2::WriteOptions {
            version: self.version.clone(),
            sending_application: self.sending_application.clone(),
            receiving_application: self.receiving_application.clone(),
            sending_facility: self.sending_facility.clone(),
            receiving_facility: self.receiving_facility.clone(),
            virtual_marker: self.marker(),
            z_segments: self.z(),
            ..Default::default()
        }
    }

    fn z(&self) -> fhirgate_mappings::hl7v2::ZSegments {
        match self.z_segments {
            ZSegmentsConfig::Keep => fhirgate_mappings::hl7v2::ZSegments::Keep,
            ZSegmentsConfig::Drop => fhirgate_mappings::hl7v2::ZSegments::Drop,
        }
    }

    fn marker(&self) -> fhirgate_mappings::hl7v2::VirtualMarker {
        fhirgate_mappings::hl7v2::VirtualMarker {
            field: self.virtual_marker.field,
            value: self.virtual_marker.value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ListenConfig;

    fn listen(allow: &[&str]) -> ListenConfig {
        ListenConfig {
            address: "127.0.0.1:0".into(),
            allow: allow.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn the_allow_list_takes_addresses_and_networks_and_defaults_to_loopback() {
        let l = listen(&["10.1.0.0/16", "192.0.2.7", "::1"]);
        let nets = l.allowed();
        assert_eq!(nets.len(), 3);
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        assert!(nets.iter().any(|n| n.contains(&ip("10.1.200.3"))));
        assert!(nets.iter().any(|n| n.contains(&ip("192.0.2.7"))));
        assert!(!nets.iter().any(|n| n.contains(&ip("192.0.2.8"))));
        let default: ListenConfig =
            from_json_with_defaults().expect("the default allow list parses");
        assert!(
            default
                .allowed()
                .iter()
                .any(|n| n.contains(&ip("127.0.0.1")))
        );
        assert!(
            !default
                .allowed()
                .iter()
                .any(|n| n.contains(&ip("10.0.0.1")))
        );
    }

    #[test]
    fn a_bad_allow_entry_is_a_config_problem() {
        let config: super::Hl7v2Config = serde_json::from_value(serde_json::json!({
            "store": "store",
            "listen": {"address": "127.0.0.1:0", "allow": ["10.0.0.0/8", "anywhere"]}
        }))
        .expect("config");
        let problems = config.validate();
        assert!(
            problems.iter().any(|p| p.path == "listen.allow.1"),
            "{problems:?}"
        );
        assert!(!problems.iter().any(|p| p.path == "listen.allow.0"));
    }

    #[test]
    fn msh_3_to_6_must_be_hd_values_without_other_delimiters() {
        let config: super::Hl7v2Config = serde_json::from_value(serde_json::json!({
            "store": "store",
            "sending_facility": "GENHOSP^2.16.840.1.113883.19.5^ISO",
            "receiving_facility": "LAB|X\rMSH",
            "receiving_application": "EHR^1.2.3",
        }))
        .expect("config");
        let paths: Vec<String> = config.validate().into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["receiving_application", "receiving_facility"]);
    }

    fn from_json_with_defaults() -> Result<ListenConfig, serde_json::Error> {
        serde_json::from_value(serde_json::json!({"address": "127.0.0.1:0"}))
    }
}
