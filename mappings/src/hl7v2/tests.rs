//! Unit tests of the HL7 v2 reader, writer and time handling.
