//! Which db_a writes a site in db_b: db_a's `sync_identity` token, recorded in the site's
//! `sync_watermark` row by its first run. A second database configured with the same
//! `SITE_ID` (or none) would otherwise take the site's rows for its own — and `rebase`,
//! offered for a queue that went backwards, would copy its rows over them.

use sqlx::mysql::MySqlConnection;

/// db_a's token (made by `init`).
pub async fn token(local: &mut MySqlConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT token FROM sync_identity WHERE id = 1")
        .fetch_one(local)
        .await
}

/// db_b: the token of the db_a that writes `site`, if one has claimed it.
pub async fn owner(
    central: &mut MySqlConnection,
    site: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT owner FROM sync_watermark WHERE site_id = ?",
    )
    .bind(site)
    .fetch_optional(central)
    .await?
    .flatten())
}

/// db_b: claims `site` for `token` unless another db_a has; `Some(owner)` then.
pub async fn claim(
    central: &mut MySqlConnection,
    site: &str,
    token: &str,
) -> Result<Option<String>, sqlx::Error> {
    match owner(central, site).await? {
        Some(owner) if owner != token => return Ok(Some(owner)),
        Some(_) => return Ok(None),
        None => {}
    }
    sqlx::query(
        "INSERT INTO sync_watermark (site_id, owner) VALUES (?, ?) \
         ON DUPLICATE KEY UPDATE owner = COALESCE(owner, VALUES(owner))",
    )
    .bind(site)
    .bind(token)
    .execute(&mut *central)
    .await?;
    Ok(owner(central, site).await?.filter(|owner| owner != token))
}

/// What an operator reads when `site` belongs to another db_a.
pub fn refusal(site: &str) -> String {
    let name = if site.is_empty() {
        "db_b's single site (no SITE_ID)".to_string()
    } else {
        format!("site {site:?} in db_b")
    };
    format!(
        "{name} is written by another db_a database: give this one its own SITE_ID. \
         If this database replaces that site's old one (a new machine, no backup), clear \
         the claim in db_b first: UPDATE sync_watermark SET owner = NULL WHERE site_id = '{site}'; \
         then run `dbsync rebase`"
    )
}
