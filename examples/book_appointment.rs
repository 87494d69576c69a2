//! The main job: book an appointment, Hero's way (list types → slots → reserve → confirm → read
//! back).
//!
//! ```sh
//! cargo run --example book_appointment            # no HERO_API_KEY: the embedded mock server
//! HERO_API_KEY=… HERO_PRACTICE_GROUP_ID=… HERO_ENV=staging cargo run --example book_appointment
//! ```
//!
//! With credentials it runs the same code against Hero; `HERO_ENV` must then be set explicitly
//! (a production run books a real appointment). `HERO_PATIENT_ID` books for that patient.

use std::error::Error;

use hero_health::Client;
use hero_health::booking::SlotQuery;
use hero_health::mock::MockHero;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut _mock = None;
    let client = if std::env::var_os("HERO_API_KEY").is_some() {
        if std::env::var_os("HERO_ENV").is_none() && std::env::var_os("HERO_BASE_URL").is_none() {
            return Err("HERO_API_KEY is set: also set HERO_ENV=staging (or production, to book a real appointment)".into());
        }
        Client::from_env()?
    } else {
        let mock = MockHero::start().await?;
        println!("No HERO_API_KEY: using the embedded mock Hero server at {}", mock.url());
        let client = mock.client();
        _mock = Some(mock);
        client
    };
    // A Hero patient id is a numeric string: a wrong value stops here, before anything is sent.
    let patient: Option<hero_health::Id> = std::env::var("HERO_PATIENT_ID").ok().map(|id| id.parse()).transpose()?;
    let booking = client.booking();

    let types = booking.appointment_types().await?;
    let kind = types.first().ok_or("the practice group has no appointment types")?;
    println!("1. {} appointment types; booking a \"{}\" ({} min)", types.len(), kind.name, kind.duration);

    let slots = booking.slots(&SlotQuery::new().with_appointment_type(kind.id.clone())).await?;
    // Chosen for what comes next: a slot that starts in the next few minutes may be gone (or
    // started) before the patient gets there, so take the first at least an hour away.
    let now = client.clock().now();
    let slot = slots
        .iter()
        .find(|s| s.start_time.is_some_and(|start| start - now >= chrono::Duration::hours(1)))
        .ok_or("no free slot at least an hour away for that appointment type")?;
    let start = slot.start_time.map(|t| t.format("%a %d %b %H:%M UTC").to_string()).unwrap_or_default();
    println!("2. {} free slots; taking the first at least an hour away: {start}", slots.len());

    let reservation = booking.reserve(slot, patient.as_ref()).await?;
    let left = reservation.time_left().map(|d| format!(" ({} s left)", d.as_secs())).unwrap_or_default();
    println!("3. reserved appointment {}, held{left}", reservation.id());

    let appointment = reservation.confirm().await?;
    println!("4. confirmed: booking_confirmed_at = {:?}", appointment.booking_confirmed_at.map(|t| t.to_rfc3339()));

    let again = booking.appointment(reservation.id()).await?;
    println!("5. read back appointment {}: {}", again.id, if again.booking_confirmed_at.is_some() { "booked" } else { "NOT booked" });
    Ok(())
}
