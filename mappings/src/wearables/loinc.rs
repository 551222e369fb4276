//! The measures we map and their codes, as data: LOINC code and display, Observation category,
//! the R4 vital-signs profile that applies, and the Open mHealth schema used in reverse.
//!
//! Codes from the issue and the FHIR R4 vital-signs profiles
//! (<http://hl7.org/fhir/R4/observation-vitalsigns.html>): heart rate 8867-4, respiratory rate
//! 9279-1, SpO2 2708-6 + 59408-5, body temperature 8310-5, body weight 29463-7, BMI 39156-5,
//! blood pressure panel 85354-9 with 8480-6/8462-4; steps 55423-8, sleep duration 93832-4,
//! glucose by specimen and unit (LOINC <https://loinc.org>).

/// A measure fhirgate maps. Glucose is split by specimen and unit because LOINC codes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Measure {
    HeartRate,
    RespiratoryRate,
    OxygenSaturation,
    BodyTemperature,
    BodyWeight,
    BodyMassIndex,
    BloodPressure,
    StepCount,
    SleepDuration,
    SleepEpisode,
    PhysicalActivity,
    GlucoseCapillaryMass,
    GlucoseCapillaryMolar,
    GlucoseBloodMass,
    GlucoseBloodMolar,
}

/// `Observation.category` code (<http://terminology.hl7.org/CodeSystem/observation-category>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `vital-signs` (required by the vital-signs profile).
    VitalSigns,
    /// `activity` (steps, sleep, exercise).
    Activity,
    /// `laboratory`: glucose is not a vital sign; a glucometer reading is a point-of-care lab.
    Laboratory,
}

impl Category {
    /// The observation-category code.
    pub fn code(self) -> &'static str {
        match self {
            Self::VitalSigns => "vital-signs",
            Self::Activity => "activity",
            Self::Laboratory => "laboratory",
        }
    }
}

/// One row of the measure table.
#[derive(Debug)]
pub struct MeasureCode {
    /// The measure.
    pub measure: Measure,
    /// Stable name used in identifiers and messages (the Open mHealth schema name).
    pub name: &'static str,
    /// Primary LOINC code and display.
    pub loinc: (&'static str, &'static str),
    /// A second LOINC coding (SpO2's 59408-5 pulse-oximetry code).
    pub also: Option<(&'static str, &'static str)>,
    /// Observation category.
    pub category: Category,
    /// Canonical URL of the R4 profile the Observation claims, when one applies.
    pub profile: Option<&'static str>,
    /// Open mHealth schema (name, version) for the reverse mapping.
    pub omh_schema: (&'static str, &'static str),
}

/// Base of the R4 vital-signs profiles' canonical URLs.
pub const PROFILE_BASE: &str = "http://hl7.org/fhir/StructureDefinition/";
/// `Observation.category` code system.
pub const CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// The table, loaded once (a `static`).
pub static MEASURES: &[MeasureCode] = &[
    row(
        Measure::HeartRate,
        "heart-rate",
        ("8867-4", "Heart rate"),
        None,
        Category::VitalSigns,
        Some("heartrate"),
        "2.0",
    ),
    row(
        Measure::RespiratoryRate,
        "respiratory-rate",
        ("9279-1", "Respiratory rate"),
        None,
        Category::VitalSigns,
        Some("resprate"),
        "2.0",
    ),
    row(
        Measure::OxygenSaturation,
        "oxygen-saturation",
        ("2708-6", "Oxygen saturation in Arterial blood"),
        Some((
            "59408-5",
            "Oxygen saturation in Arterial blood by Pulse oximetry",
        )),
        Category::VitalSigns,
        Some("oxygensat"),
        "2.0",
    ),
    row(
        Measure::BodyTemperature,
        "body-temperature",
        ("8310-5", "Body temperature"),
        None,
        Category::VitalSigns,
        Some("bodytemp"),
        "4.0",
    ),
    row(
        Measure::BodyWeight,
        "body-weight",
        ("29463-7", "Body weight"),
        None,
        Category::VitalSigns,
        Some("bodyweight"),
        "3.0",
    ),
    row(
        Measure::BodyMassIndex,
        "body-mass-index",
        ("39156-5", "Body mass index (BMI) [Ratio]"),
        None,
        Category::VitalSigns,
        Some("bmi"),
        "1.0",
    ),
    row(
        Measure::BloodPressure,
        "blood-pressure",
        ("85354-9", "Blood pressure panel with all children optional"),
        None,
        Category::VitalSigns,
        Some("bp"),
        "4.0",
    ),
    row(
        Measure::StepCount,
        "step-count",
        ("55423-8", "Number of steps in unspecified time Pedometer"),
        None,
        Category::Activity,
        None,
        "3.0",
    ),
    row(
        Measure::SleepDuration,
        "sleep-duration",
        ("93832-4", "Sleep duration"),
        None,
        Category::Activity,
        None,
        "2.0",
    ),
    row(
        Measure::SleepEpisode,
        "sleep-episode",
        ("93832-4", "Sleep duration"),
        None,
        Category::Activity,
        None,
        "1.1",
    ),
    row(
        Measure::PhysicalActivity,
        "physical-activity",
        ("73985-4", "Exercise activity"),
        None,
        Category::Activity,
        None,
        "1.2",
    ),
    row(
        Measure::GlucoseCapillaryMass,
        "blood-glucose",
        (
            "41653-7",
            "Glucose [Mass/volume] in Capillary blood by Glucometer",
        ),
        None,
        Category::Laboratory,
        None,
        "3.0",
    ),
    row(
        Measure::GlucoseCapillaryMolar,
        "blood-glucose",
        (
            "14743-9",
            "Glucose [Moles/volume] in Capillary blood by Glucometer",
        ),
        None,
        Category::Laboratory,
        None,
        "3.0",
    ),
    row(
        Measure::GlucoseBloodMass,
        "blood-glucose",
        ("2339-0", "Glucose [Mass/volume] in Blood"),
        None,
        Category::Laboratory,
        None,
        "3.0",
    ),
    row(
        Measure::GlucoseBloodMolar,
        "blood-glucose",
        ("15074-8", "Glucose [Moles/volume] in Blood"),
        None,
        Category::Laboratory,
        None,
        "3.0",
    ),
];

const fn row(
    measure: Measure,
    name: &'static str,
    loinc: (&'static str, &'static str),
    also: Option<(&'static str, &'static str)>,
    category: Category,
    profile: Option<&'static str>,
    version: &'static str,
) -> MeasureCode {
    MeasureCode {
        measure,
        name,
        loinc,
        also,
        category,
        profile,
        omh_schema: (name, version),
    }
}

/// The table row of `measure` (every variant has one).
pub fn code_of(measure: Measure) -> &'static MeasureCode {
    MEASURES
        .iter()
        .find(|m| m.measure == measure)
        .unwrap_or(&MEASURES[0])
}

/// The row whose primary LOINC code is `code` (sleep: the sleep-duration row).
pub fn by_loinc(code: &str) -> Option<&'static MeasureCode> {
    MEASURES.iter().find(|m| m.loinc.0 == code)
}

/// Profile URL for a row, e.g. `http://hl7.org/fhir/StructureDefinition/heartrate`.
pub fn profile_url(code: &MeasureCode) -> Option<String> {
    code.profile.map(|p| format!("{PROFILE_BASE}{p}"))
}

/// Blood-pressure component codes (systolic, diastolic).
pub const SYSTOLIC: (&str, &str) = ("8480-6", "Systolic blood pressure");
/// See [`SYSTOLIC`].
pub const DIASTOLIC: (&str, &str) = ("8462-4", "Diastolic blood pressure");
/// SpO2 component for supplemental oxygen (as in US Core's pulse-oximetry profile).
pub const INHALED_O2_FLOW: (&str, &str) = ("3151-8", "Inhaled oxygen flow rate");
/// Physical-activity component for energy expended.
pub const CALORIES_BURNED: (&str, &str) = ("41981-2", "Calories burned");
