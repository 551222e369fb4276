//! Throughput of the wearable mappings (issue 6 targets: ≥ 200 000 omh readings/s per core;
//! ≥ 50 MB/s for HealthKit export.xml in < 100 MB RSS). Inputs are generated here, never
//! committed. Run: `cargo bench -p fhirgate-mappings --bench wearables [-- RECORDS]`.
//! Single-threaded; peak RSS is this process's `VmHWM` (Linux `/proc/self/status`).

use std::io::{self, BufReader, Read};
use std::time::Instant;

use fhirgate_mappings::wearables::healthkit::ExportReader;
use fhirgate_mappings::wearables::{Context, omh};
use serde_json::Value;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn omh_bodies(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let text = format!(
                r#"{{"heart_rate": {{"value": {}.5, "unit": "beats/min"}}, "effective_time_frame": {{"date_time": "2024-01-{:02}T{:02}:{:02}:00-08:00"}}}}"#,
                50 + i % 90,
                1 + i % 28,
                i % 24,
                i % 60
            );
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
        .collect()
}

/// An export.xml generated on the fly: `records` heart-rate/step/BP entries, no buffering.
struct Export {
    records: usize,
    next: usize,
    pending: Vec<u8>,
    pos: usize,
    produced: u64,
}

impl Export {
    fn chunk(&mut self) -> bool {
        self.pending.clear();
        self.pos = 0;
        if self.next > self.records + 1 {
            return false;
        }
        if self.next == 0 {
            self.pending.extend_from_slice(
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HealthData locale=\"en_US\">\n",
            );
        } else if self.next == self.records + 1 {
            self.pending.extend_from_slice(b"</HealthData>\n");
        } else {
            let i = self.next;
            let (d, h, m) = (1 + i % 28, i % 24, i % 60);
            let line = format!(
                " <Record type=\"HKQuantityTypeIdentifierHeartRate\" sourceName=\"Apple Watch\" sourceVersion=\"10.1\" device=\"&lt;&lt;HKDevice: 0x28{i:x}&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1&gt;\" unit=\"count/min\" creationDate=\"2024-01-{d:02} {h:02}:{m:02}:10 -0800\" startDate=\"2024-01-{d:02} {h:02}:{m:02}:00 -0800\" endDate=\"2024-01-{d:02} {h:02}:{m:02}:00 -0800\" value=\"{}\">\n  <MetadataEntry key=\"HKMetadataKeyHeartRateMotionContext\" value=\"0\"/>\n </Record>\n",
                50 + i % 90
            );
            self.pending.extend_from_slice(line.as_bytes());
        }
        self.next += 1;
        true
    }
}

impl Read for Export {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.pending.len() && !self.chunk() {
            return Ok(0);
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

fn main() {
    let records: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let ctx = Context::new("bench", None).unwrap_or_else(|e| panic!("{e}"));

    // HealthKit first, so its peak RSS is not the omh inputs' (VmHWM is a high-water mark).
    let mut export = Export {
        records,
        next: 0,
        pending: Vec::new(),
        pos: 0,
        produced: 0,
    };
    let start = Instant::now();
    let mut mapped = 0usize;
    {
        let reader = ExportReader::new(BufReader::with_capacity(1 << 16, &mut export), ctx.clone());
        for o in reader.flatten() {
            mapped += usize::from(!o.to_string().is_empty());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = export.produced as f64 / 1e6;
    println!(
        "healthkit export.xml -> Observation JSON: {mb:.1} MB, {mapped} records in {secs:.2} s = {:.1} MB/s, {:.0} records/s; peak RSS {:.1} MB",
        mb / secs,
        mapped as f64 / secs,
        peak_rss_mb()
    );
    let bodies = omh_bodies(200_000);
    let start = Instant::now();
    let mut bytes = 0usize;
    for b in &bodies {
        if let Ok(o) = omh::data_point_to_observation(b, &ctx) {
            bytes += o.to_string().len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "omh heart-rate -> Observation JSON: {} readings in {secs:.3} s = {:.0} readings/s ({bytes} bytes of JSON)",
        bodies.len(),
        bodies.len() as f64 / secs
    );
}
