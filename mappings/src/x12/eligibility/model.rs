//! The 270/271 content as plain structures (005010X279A1 loops 2000A–2120D), between the
//! segments ([`super::read`], [`super::write`]) and FHIR ([`super::to_fhir`],
//! [`super::from_fhir`]). One [`Eligibility`] is one patient's inquiry or answer: its
//! information source (payer), receiver (provider), subscriber and optional dependent.

/// An N3/N4 address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// N301, N302.
    pub lines: Vec<String>,
    /// N401.
    pub city: String,
    /// N402 state or province code.
    pub state: String,
    /// N403 postal code.
    pub postal_code: String,
    /// N404 country code (absent for the US).
    pub country: String,
}

/// An NM1 name with the segments that qualify it (N3/N4, REF, PRV, PER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entity {
    /// NM101 entity identifier code (`PR` payer, `1P` provider, `IL` subscriber, `03`
    /// dependent, `P3` primary care provider…).
    pub entity_code: String,
    /// NM102 `1` (a person) vs `2` (an organization).
    pub person: bool,
    /// NM103 last name or organization name.
    pub last_or_org: String,
    /// NM104 first name.
    pub first: String,
    /// NM105 middle name or initial.
    pub middle: String,
    /// NM107 name suffix.
    pub suffix: String,
    /// NM108 identification code qualifier (`PI` payer id, `XX` NPI, `MI` member id…).
    pub id_qualifier: String,
    /// NM109 identification code.
    pub id: String,
    /// N3/N4.
    pub address: Option<Address>,
    /// REF01/REF02 pairs (`6P` group number, `18` plan number, `Q4` prior id…).
    pub references: Vec<(String, String)>,
    /// PRV01/PRV03 (provider code, taxonomy) when present.
    pub provider_code: Option<(String, String)>,
    /// PER communication numbers as (qualifier, number) pairs (`TE` phone, `UR` URL…).
    pub contacts: Vec<(String, String)>,
}

impl Entity {
    /// The REF02 of the first REF with qualifier `qualifier`.
    pub fn reference(&self, qualifier: &str) -> Option<&str> {
        self.references
            .iter()
            .find(|(q, _)| q == qualifier)
            .map(|(_, v)| v.as_str())
    }
}

/// An AAA request validation: why (part of) a request was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The loop it appeared in (`2000A`, `2100A`, `2100B`, `2100C`, `2110C`, `2100D`…).
    pub loop_id: String,
    /// AAA01 valid request indicator (`Y` the request was valid but is rejected, `N` not valid).
    pub valid_request: String,
    /// AAA03 reject reason code (element 901).
    pub reason: String,
    /// AAA04 follow-up action code (element 889).
    pub follow_up: String,
}

/// A DTP date or date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateValue {
    /// DTP01 date/time qualifier (element 374), e.g. `291` plan, `346` plan begin.
    pub qualifier: String,
    /// DTP02 `D8` (CCYYMMDD) or `RD8` (CCYYMMDD-CCYYMMDD).
    pub format: String,
    /// DTP03 as written.
    pub value: String,
}

impl DateValue {
    /// The first (or only) date as `CCYYMMDD`.
    pub fn start(&self) -> &str {
        self.value.split('-').next().unwrap_or("")
    }

    /// The last date of an `RD8` range, else the only date, as `CCYYMMDD`.
    pub fn end(&self) -> &str {
        self.value.rsplit('-').next().unwrap_or("")
    }
}

/// A TRN trace (2000C/2000D).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// TRN01: `1` current transaction trace (ours), `2` referenced (an echo of the 270's).
    pub trace_type: String,
    /// TRN02 reference identification.
    pub number: String,
    /// TRN03 originating company identifier (`1` + tax id, or another 10-character id).
    pub originator: String,
}

/// An EQ eligibility or benefit inquiry (2110C/2110D of a 270).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inquiry {
    /// EQ01 service type codes (element 1365), repeated.
    pub service_types: Vec<String>,
    /// EQ02 composite medical procedure (qualifier `HC`/`AD`/`CJ`/`ID`/`IV`/`N4`/`ZZ`, code).
    pub procedure: Option<(String, String)>,
}

/// An EB eligibility or benefit information loop (2110C/2110D of a 271) with its HSD, REF,
/// DTP, AAA, MSG and 2120 (LS/LE) content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Benefit {
    /// EB01 eligibility or benefit information code (element 1390).
    pub code: String,
    /// EB02 coverage level code (element 1207).
    pub coverage_level: String,
    /// EB03 service type codes (element 1365), repeated.
    pub service_types: Vec<String>,
    /// EB04 insurance type code (element 1336).
    pub insurance_type: String,
    /// EB05 plan coverage description.
    pub plan_description: String,
    /// EB06 time period qualifier (element 615).
    pub time_period: String,
    /// EB07 monetary amount, as written (decimal, dollars).
    pub amount: String,
    /// EB08 percentage as a decimal fraction (`.2` = 20 %), as written.
    pub percent: String,
    /// EB09 quantity qualifier (element 673).
    pub quantity_qualifier: String,
    /// EB10 quantity, as written.
    pub quantity: String,
    /// EB11 authorization or certification indicator (`Y`, `N`, `U`).
    pub authorization_required: String,
    /// EB12 in plan network indicator (`Y`, `N`, `U`, `W`).
    pub in_network: String,
    /// EB13 composite medical procedure identifier (qualifier, code).
    pub procedure: Option<(String, String)>,
    /// REF01/REF02 pairs.
    pub references: Vec<(String, String)>,
    /// DTP dates (348 benefit begin, 349 benefit end, 292 benefit…).
    pub dates: Vec<DateValue>,
    /// AAA rejections of this inquiry (2110C/2110D).
    pub rejections: Vec<Rejection>,
    /// MSG01 free-form messages.
    pub messages: Vec<String>,
    /// 2120C/2120D benefit related entities (e.g. the `P3` primary care provider).
    pub related: Vec<Entity>,
}

/// INS: the member's relationship to the subscriber, and whether the payer changed data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberRelationship {
    /// INS01 `Y` (the subscriber) or `N` (a dependent).
    pub is_subscriber: String,
    /// INS02 individual relationship code (`18` self, `01` spouse, `19` child, `34` other adult).
    pub relationship: String,
    /// INS03 maintenance type code (`001` change) — a 271 reports corrected data with it.
    pub maintenance_type: String,
    /// INS04 maintenance reason code (`25` change in identifying data elements).
    pub maintenance_reason: String,
}

/// A subscriber (2000C/2100C) or dependent (2000D/2100D) and what is asked or answered for
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    /// TRN traces.
    pub traces: Vec<Trace>,
    /// NM1 (`IL` subscriber or `03` dependent) with N3/N4, REF, PRV.
    pub name: Entity,
    /// DMG02 birth date, `CCYYMMDD`.
    pub birth_date: String,
    /// DMG03 gender code (`M`, `F`, `U`).
    pub gender: String,
    /// INS.
    pub relationship: Option<MemberRelationship>,
    /// DTP at the name level (2100C/D: 291 plan, 346 plan begin, 347 plan end, 307
    /// eligibility, 356/357 eligibility begin/end…).
    pub dates: Vec<DateValue>,
    /// AAA at the name level (2100C/D).
    pub rejections: Vec<Rejection>,
    /// EQ loops (270).
    pub inquiries: Vec<Inquiry>,
    /// EB loops (271).
    pub benefits: Vec<Benefit>,
}

impl Member {
    /// The first TRN whose TRN01 is `trace_type`.
    pub fn trace(&self, trace_type: &str) -> Option<&Trace> {
        self.traces.iter().find(|t| t.trace_type == trace_type)
    }
}

/// One patient's 270 inquiry or 271 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Eligibility {
    /// ST01: `270` or `271`.
    pub transaction: String,
    /// BHT02 transaction set purpose (`13` request, `11` response, `06` confirmation).
    pub purpose: String,
    /// BHT03 submitter's reference identification.
    pub reference: String,
    /// BHT04 date `CCYYMMDD`.
    pub date: String,
    /// BHT05 time `HHMM[SS]`.
    pub time: String,
    /// 2100A information source (the payer, `PR`).
    pub source: Entity,
    /// AAA in 2000A/2100A: the payer could not answer at all.
    pub source_rejections: Vec<Rejection>,
    /// 2100B information receiver (the provider, `1P`), absent when the payer rejected
    /// the whole request at 2000A.
    pub receiver: Option<Entity>,
    /// AAA in 2100B: the provider was not accepted.
    pub receiver_rejections: Vec<Rejection>,
    /// 2000C/2100C subscriber, absent when the request was rejected above it.
    pub subscriber: Option<Member>,
    /// 2000D/2100D dependent, when the patient is not the subscriber.
    pub dependent: Option<Member>,
}

impl Eligibility {
    /// The patient: the dependent when present, else the subscriber.
    pub fn patient(&self) -> Option<&Member> {
        self.dependent.as_ref().or(self.subscriber.as_ref())
    }

    /// Every AAA of the answer, outermost loop first.
    pub fn rejections(&self) -> Vec<&Rejection> {
        let members = self.subscriber.iter().chain(self.dependent.iter());
        self.source_rejections
            .iter()
            .chain(self.receiver_rejections.iter())
            .chain(members.flat_map(|m| {
                m.rejections
                    .iter()
                    .chain(m.benefits.iter().flat_map(|b| b.rejections.iter()))
            }))
            .collect()
    }
}
