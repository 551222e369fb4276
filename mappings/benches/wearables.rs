//! Throughput of the wearable mappings (issue 6 targets: ≥ 200 000 omh readings/s per core;
//! ≥ 50 MB/s for HealthKit export.xml in < 100 MB RSS). Inputs are generated here, never
//! committed. Run: `cargo bench -p fhirgate-mappings --bench wearables [-- RECORDS]`.
//!
//! Single-threaded. Each figure is given twice: per wall-clock second and per second of
//! this thread's CPU time (`/proc/thread-self/schedstat`), the "per core" figure, which is
//! less disturbed by other processes on a shared machine. Peak RSS is the process's `VmHWM`
//! (`/proc/self/status`), and includes the generator's block of records.
//!
//! The export is generated on the fly from a block of distinct records, cycled, so the
//! generator costs a `memcpy` and the figure is the mapper's, not the generator's.

use std::io::{self, BufReader, Read};
use std::time::Instant;

use fhirgate_mappings::wearables::healthkit::ExportReader;
use fhirgate_mappings::wearables::{Context, omh};
use serde_json::Value;

/// Records in the generated block that the export cycles through.
const BLOCK_RECORDS: usize = 8192;
/// Passes over the omh bodies; the median pass is reported.
const OMH_PASSES: usize = 5;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Seconds this thread has run on a CPU (`NaN` where `/proc` does not say).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// Wall-clock and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let out = f();
    (out, wall.elapsed().as_secs_f64(), cpu_seconds() - cpu)
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

fn record(i: usize) -> String {
    let (d, h, m) = (1 + i % 28, i % 24, i % 60);
    format!(
        " <Record type=\"HKQuantityTypeIdentifierHeartRate\" sourceName=\"Apple Watch\" sourceVersion=\"10.1\" device=\"&lt;&lt;HKDevice: 0x28{i:x}&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1&gt;\" unit=\"count/min\" creationDate=\"2024-01-{d:02} {h:02}:{m:02}:10 -0800\" startDate=\"2024-01-{d:02} {h:02}:{m:02}:00 -0800\" endDate=\"2024-01-{d:02} {h:02}:{m:02}:00 -0800\" value=\"{}\">\n  <MetadataEntry key=\"HKMetadataKeyHeartRateMotionContext\" value=\"0\"/>\n </Record>\n",
        50 + i % 90
    )
}

/// An export.xml of `records` heart-rate records (with a metadata child each, as Apple
/// writes them), produced on the fly by cycling a block of distinct records.
struct Export {
    head: &'static [u8],
    block: Vec<u8>,
    tail: &'static [u8],
    /// Blocks still to produce (the current one included).
    blocks_left: usize,
    stage: u8,
    pos: usize,
    produced: u64,
}

impl Export {
    fn new(records: usize) -> Self {
        let block: String = (0..BLOCK_RECORDS).map(record).collect();
        Self {
            head: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HealthData locale=\"en_US\">\n",
            block: block.into_bytes(),
            tail: b"</HealthData>\n",
            blocks_left: records.div_ceil(BLOCK_RECORDS),
            stage: 0,
            pos: 0,
            produced: 0,
        }
    }

    fn current(&self) -> &[u8] {
        match self.stage {
            0 => self.head,
            1 => &self.block,
            2 => self.tail,
            _ => &[],
        }
    }
}

impl Read for Export {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let src = self.current();
            if self.pos < src.len() {
                let n = buf.len().min(src.len() - self.pos);
                buf[..n].copy_from_slice(&src[self.pos..self.pos + n]);
                self.pos += n;
                self.produced += n as u64;
                return Ok(n);
            }
            self.pos = 0;
            match self.stage {
                0 => self.stage = if self.blocks_left > 0 { 1 } else { 2 },
                1 => {
                    self.blocks_left -= 1;
                    if self.blocks_left == 0 {
                        self.stage = 2;
                    }
                }
                2 => self.stage = 3,
                _ => return Ok(0),
            }
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let records: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let ctx = Context::new("bench", None).unwrap_or_else(|e| panic!("{e}"));

    // HealthKit first, so its peak RSS is not the omh inputs' (VmHWM is a high-water mark).
    let mut export = Export::new(records);
    let mut out = Vec::with_capacity(1 << 12);
    let ((mapped, json_bytes), wall, cpu) = timed(|| {
        let (mut mapped, mut bytes) = (0usize, 0usize);
        let reader = ExportReader::new(BufReader::with_capacity(1 << 16, &mut export), ctx.clone());
        for o in reader.flatten() {
            out.clear();
            o.write_json(&mut out);
            bytes += out.len();
            mapped += 1;
        }
        (mapped, bytes)
    });
    let mb = export.produced as f64 / 1e6;
    println!(
        "healthkit export.xml -> Observation JSON: {mb:.1} MB, {mapped} records ({:.0} MB of JSON) in {wall:.2} s wall / {cpu:.2} s CPU = {:.1} MB/s wall, {:.1} MB/s per CPU second, {:.0} records/s per CPU second; peak RSS {:.1} MB",
        json_bytes as f64 / 1e6,
        mb / wall,
        mb / cpu,
        mapped as f64 / cpu,
        peak_rss_mb()
    );

    let bodies = omh_bodies(200_000);
    let (mut walls, mut cpus, mut bytes) = (Vec::new(), Vec::new(), 0usize);
    for _ in 0..OMH_PASSES {
        let (b, wall, cpu) = timed(|| {
            let mut bytes = 0usize;
            for b in &bodies {
                if let Ok(o) = omh::data_point_to_observation(b, &ctx) {
                    out.clear();
                    o.write_json(&mut out);
                    bytes += out.len();
                }
            }
            bytes
        });
        bytes = b;
        walls.push(bodies.len() as f64 / wall);
        cpus.push(bodies.len() as f64 / cpu);
    }
    println!(
        "omh heart-rate -> Observation JSON: {} readings x {OMH_PASSES} passes ({bytes} bytes of JSON per pass); median {:.0} readings/s wall, {:.0} readings/s per CPU second",
        bodies.len(),
        median(walls),
        median(cpus)
    );
}
