//! Find a patient and message them, Hero's way: trace on PDS → send an NHS App message that falls
//! back to SMS, written to the record → follow it until the record write has ended.
//!
//! ```sh
//! cargo run --example message_patient              # no HERO_API_KEY: the embedded mock server
//! HERO_API_KEY=… HERO_PRACTICE_GROUP_ID=… HERO_ENV=staging \
//!   HERO_NHS_NUMBER=… HERO_DOB=YYYY-MM-DD cargo run --example message_patient
//! ```
//!
//! With credentials it messages a real patient on the server `HERO_ENV` names: use a test
//! patient of a staging practice.

use std::error::Error;
use std::time::Duration;

use chrono::NaiveDate;
use hero_health::messages::{Channel, Fallback, MessageError, Outgoing, Tracking};
use hero_health::mock::MockHero;
use hero_health::patients::{PdsTrace, Traced};
use hero_health::{Client, NhsNumber};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut mock = None;
    let (client, nhs_number, dob) = if std::env::var_os("HERO_API_KEY").is_some() {
        if std::env::var_os("HERO_ENV").is_none() && std::env::var_os("HERO_BASE_URL").is_none() {
            return Err("HERO_API_KEY is set: also set HERO_ENV=staging (a production run messages a real patient)".into());
        }
        // Checked here, before anything is sent: a mistyped NHS number fails its check digit.
        let nhs_number: NhsNumber = std::env::var("HERO_NHS_NUMBER")?.parse()?;
        let dob: NaiveDate = std::env::var("HERO_DOB")?.parse()?;
        (Client::from_env()?, nhs_number, dob)
    } else {
        let hero = MockHero::start().await?;
        println!("No HERO_API_KEY: using the embedded mock Hero server at {}", hero.url());
        let patient = hero.pds_patients().into_iter().nth(1).ok_or("the mock's spine is empty")?;
        let traced = (hero.client(), patient.nhs_number().clone(), patient.dob());
        mock = Some(hero);
        traced
    };

    let patient = match client.patients().trace(&PdsTrace::nhs_number(nhs_number, dob)).await? {
        Traced::Patient(id) => id,
        Traced::VerificationRequired { login_url, .. } => {
            println!("The patient must verify their identity first: {login_url}");
            return Ok(());
        }
        other => return Err(format!("unexpected trace result {other:?}").into()),
    };
    println!("1. traced on PDS: Hero patient {patient}");

    let message = Outgoing::new(&patient, Channel::NhsApp, "Your blood test results are normal. No action is needed.")
        .with_fallback(Fallback::Sms, None)
        .write_to_record();
    let sent = match client.messages().send(&message).await {
        Ok(sent) => sent,
        Err(error @ MessageError::OutcomeUnknown(_)) => {
            // Never sent again blindly: the patient could get it twice.
            println!("{error}");
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    println!("2. sent message {} (NHS App, SMS if unopened after 1 hour, written to the record)", sent.message_id);

    if let Some(hero) = &mock {
        // At the practice an admin approves the record write ("after approval"), which then
        // takes a while: the mock is told, and its clock moved on, as time would.
        hero.approve_write_to_record(&sent.message_id)?;
        hero.advance(hero_health::mock::DEFAULT_WRITE_TO_RECORD_DELAY);
    }
    let tracking = Tracking::within(Duration::from_secs(if mock.is_some() { 10 } else { 600 })).poll_every(Duration::from_secs(2));
    match client.messages().track(&sent, &tracking).await {
        Ok(status) => println!("3. settled: delivery {:?}, record {:?}", status.delivery, status.record),
        Err(MessageError::NotSettled { last }) => println!("3. not settled yet: delivery {:?}, record {:?}", last.delivery, last.record),
        Err(error) => return Err(error.into()),
    }
    Ok(())
}
