//! Subcommands of the `fhirgate` binary that do more than start the server.

pub mod map;
pub mod map_hl7v2;
pub mod map_ncpdp;
pub mod map_x12;
