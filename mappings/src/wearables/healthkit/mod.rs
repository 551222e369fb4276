//! Apple HealthKit `export.xml` (Health app → Export All Health Data; root `HealthData`)
//! → FHIR R4 Observations, read record by record with `quick-xml`'s pull reader so memory
//! stays bounded whatever the file size ([`reader::ExportReader`]).
//!
//! Mapped: `Record` of the `HKQuantityTypeIdentifier…` types in [`record::TYPES`],
//! `HKCategoryTypeIdentifierSleepAnalysis` asleep samples, and
//! `Correlation type="HKCorrelationTypeIdentifierBloodPressure"`. Workouts, activity
//! summaries, `Me` and other record types are skipped and counted in the warnings.

pub mod reader;
pub mod record;

pub use reader::ExportReader;

use crate::MappingError;
use crate::wearables::{Context, Mapped};

/// Maps a whole in-memory export (tests and small inputs; stream large ones with
/// [`ExportReader`]). Errors only for malformed XML before the first record.
pub fn export_to_observations(xml: &[u8], ctx: &Context) -> Result<Mapped, MappingError> {
    let mut reader = ExportReader::new(xml, ctx.clone());
    let observations: Vec<_> = reader.by_ref().collect();
    Ok(Mapped {
        observations,
        warnings: reader.warnings(),
    })
}
