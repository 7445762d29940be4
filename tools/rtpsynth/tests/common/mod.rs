//! Helpers for the tests that drive the `rtpsynth` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The binary under test: $RTPSYNTH_BIN (ctest sets it to build/bin/rtpsynth)
/// or the one cargo built for this test run.
pub fn bin() -> PathBuf {
    std::env::var_os("RTPSYNTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rtpsynth")))
}

/// A fresh scratch directory for one test, removed when the test passes
/// (kept when it fails, for the files it would have to show).
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch(name: &str) -> Scratch {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "rtpsynth-tool-{}-{}-{}",
        std::process::id(),
        name,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    Scratch(d)
}

/// Wait for a child at most `limit`; kill it past that (and fail).
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let end = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run the tool to completion within `limit`.
pub fn run_for(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rtpsynth");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = wait_bounded(&mut child, limit);
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

pub fn run(args: &[&str]) -> Output {
    run_for(args, Duration::from_secs(60))
}

pub fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A live `recv` and the address it listens on (it prints it on stderr).
pub struct LiveRecv {
    pub child: Child,
    pub addr: std::net::SocketAddr,
    pub err_lines: std::sync::mpsc::Receiver<String>,
}

impl LiveRecv {
    pub fn start(args: &[&str]) -> LiveRecv {
        let mut child = Command::new(bin())
            .arg("recv")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rtpsynth recv");
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("rtpsynth: listening on ") {
                        let addr = a.trim().parse().expect("listen address");
                        return LiveRecv {
                            child,
                            addr,
                            err_lines: rx,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("recv did not start listening");
                }
            }
        }
    }

    /// SIGTERM, then wait for a clean end.
    pub fn terminate(mut self) -> ExitStatus {
        signal(self.child.id(), "TERM");
        wait_bounded(&mut self.child, Duration::from_secs(20))
    }

    pub fn wait(mut self, limit: Duration) -> ExitStatus {
        wait_bounded(&mut self.child, limit)
    }
}

pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
    assert!(st.success());
}

/// A UDP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("ephemeral port")
}

/// Mono 16-bit samples and the rate of a WAV file.
pub fn read_wav(p: &Path) -> (u32, u16, Vec<i16>) {
    let mut r = hound::WavReader::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let spec = r.spec();
    assert_eq!(spec.bits_per_sample, 16);
    let s: Vec<i16> = r.samples::<i16>().map(|s| s.expect("sample")).collect();
    (spec.sample_rate, spec.channels, s)
}

pub fn write_wav(p: &Path, rate: u32, channels: u16, s: &[i16]) {
    let mut w = hound::WavWriter::create(
        p,
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .expect("wav");
    for &x in s {
        w.write_sample(x).expect("sample");
    }
    w.finalize().expect("finalize");
}

pub fn read_json(p: &Path) -> serde_json::Value {
    let t = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}: {t}", p.display()))
}

/// The tool's tone, computed independently: a sine at -6 dBFS.
pub fn tone(hz: f64, rate: u32, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (32767.0 * 0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin())
                .round() as i16
        })
        .collect()
}

/// G.711 through the library's codec: what a lossless PCMU/PCMA link
/// turns `pcm` into.
pub fn g711_round_trip(pcm: &[i16], alaw: bool) -> Vec<i16> {
    use rtpsynth::codec::g711;
    pcm.iter()
        .map(|&s| {
            if alaw {
                g711::alaw2linear(g711::linear2alaw(s))
            } else {
                g711::ulaw2linear(g711::linear2ulaw(s))
            }
        })
        .collect()
}

/// Fraction of the energy of `s` at `hz` (Goertzel over the whole slice).
pub fn tone_purity(s: &[i16], hz: f64, rate: u32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / rate as f64;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut total = 0.0f64;
    for &x in s {
        let x = x as f64;
        total += x * x;
        let s0 = x + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let p = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    if total == 0.0 {
        return 0.0;
    }
    // Goertzel power of a pure tone of N samples is N * total / 2.
    p / (s.len() as f64 * total / 2.0)
}

/// Finds `needle` inside `hay`; returns the offset.
pub fn find(hay: &[i16], needle: &[i16]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&o| hay[o..o + needle.len()] == *needle)
}

pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Skip a test that needs `prog` (ctest skips the whole binary earlier).
#[macro_export]
macro_rules! need {
    ($prog:expr) => {
        if !common::have($prog) {
            eprintln!("SKIP: {} is not installed", $prog);
            return;
        }
    };
}
