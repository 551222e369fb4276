//! HL7 v2 mapping throughput (placeholder; filled in with the mapping benchmark).

fn main() {}
