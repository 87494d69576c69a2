//! Runs the mock Hero server until Ctrl-C, printing its URL and credentials (for curl, Prism,
//! or another language's client).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hero = hero_health::mock::MockHero::start().await?;
    println!(
        "mock Hero server at {} (x-api-key: {}, x-practice-group-id: 1)",
        hero.url(),
        hero.api_key()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
