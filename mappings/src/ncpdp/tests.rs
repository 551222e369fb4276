//! Unit tests of the SCRIPT mappings (fixture-driven tests live in `mappings/tests/ncpdp*.rs`).
