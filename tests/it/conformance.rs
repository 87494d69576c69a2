//! Conformance: the client and the mock, through Stoplight Prism in proxy mode with `--errors`,
//! so every request the client sends and every answer the mock gives is validated against
//! `openapi/hero-public-api.yaml`. A violation turns into an error answer, and the test fails
//! with Prism's log.
//!
//! Prism comes from npm (`@stoplight/prism-cli@5`): `.ci/run` installs it and sets
//! `HERO_PRISM`. Without it (no Node on the machine) the test prints why it skips.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hero_health::Environment;
use hero_health::booking::{LinkRef, SlotQuery};
use hero_health::mock::MockHero;
use hero_health::types::{AppointmentEdit, VideoLinkCreate};

/// Kills Prism when the test ends, however it ends.
struct Prism {
    child: Child,
    log: PathBuf,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    fn whole_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The lines that report a violation or an error, for a failing assertion.
    fn log(&self) -> String {
        let mut text = String::new();
        let _ = std::fs::File::open(&self.log).and_then(|mut f| f.read_to_string(&mut text));
        text.lines()
            .filter(|l| l.contains("✖") || l.to_lowercase().contains("violation") || l.contains("error"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn prism_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HERO_PRISM") {
        return Some(PathBuf::from(path));
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join("prism")).find(|p| p.is_file())
}

/// Starts Prism on a free port. The port is found by binding port 0 and letting it go, so another
/// test's server can take it before Prism listens (CI once failed that way: `listen EADDRINUSE`).
/// Prism then exits, and a new port is tried; any other exit fails with Prism's whole log.
fn start_prism(binary: &PathBuf, upstream: &str) -> (Prism, String) {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/hero-public-api.yaml");
    for _attempt in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::env::temp_dir().join(format!("hero-health-prism-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary)
            .args(["proxy", spec, upstream, "--errors", "--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut prism = Prism { child, log };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (prism, format!("http://127.0.0.1:{port}"));
            }
            if let Ok(Some(status)) = prism.child.try_wait() {
                let log = prism.whole_log();
                assert!(log.contains("EADDRINUSE"), "prism exited ({status}) before it listened:\n{log}");
                break;
            }
            assert!(Instant::now() < deadline, "prism did not start within 90 s:\n{}", prism.whole_log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    panic!("prism found no free port in 5 attempts (each was taken before it listened)");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_booking_flow_conforms_to_the_document_in_both_directions() {
    let Some(binary) = prism_binary() else {
        eprintln!("SKIPPED conformance: Prism not found (Node/npm absent?). Install @stoplight/prism-cli@5 or set HERO_PRISM.");
        return;
    };
    let hero = MockHero::start().await.unwrap();
    let (prism, url) = start_prism(&binary, &hero.url());
    let client = hero.client_builder().with_environment(Environment::custom(&url).unwrap()).build().unwrap();
    let booking = client.booking();

    let flow = async {
        let types = booking.appointment_types().await?;
        booking.locations().await?;
        booking.practitioners().await?;
        let query = SlotQuery::new().with_appointment_type(types[0].id.clone()).with_page_size(std::num::NonZeroU64::new(10).unwrap());
        let slots = booking.slots(&query).await?;
        let reservation = booking.reserve(&slots[0], Some(&hero_health::Id::from(1234))).await?;
        let edit = AppointmentEdit {
            start_time: slots[1].start_time,
            duration: 10,
            practitioner_id: slots[1].practitioner_id.clone().expect("a slot's practitioner"),
            suppress_availability_check: None,
            suppress_mail: Some(true),
        };
        booking.edit_appointment(reservation.id(), edit).await?;
        reservation.confirm().await?;
        booking.appointment(reservation.id()).await?;
        let link = booking
            .create_video_link(VideoLinkCreate {
                link_name: Some("Review".into()),
                patient_id: Some(hero_health::Id::from(1234)),
                expiry_date: None,
            })
            .await?;
        booking.link_status(&LinkRef::Id(link.short_link_id.unwrap_or_default())).await?;
        Ok::<_, hero_health::booking::BookingError>(())
    };
    if let Err(error) = flow.await {
        panic!("a request or answer violates the document: {error}\nprism:\n{}", prism.log());
    }
    let through_prism = hero.requests().len();
    assert!(through_prism >= 10, "the flow went through Prism to the mock ({through_prism} requests)");
}
