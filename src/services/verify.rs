//! `dbsync verify`: compares db_a and db_b users and orders, every column, page by page so
//! memory stays flat however large the tables are.

use std::cmp::Ordering;
use std::future::Future;

use serde::Serialize;
use sqlx::mysql::MySqlPool;

use crate::db::local;

const PAGE: u32 = 5000;
/// Differing ids listed per table; the counts are always complete.
const LISTED: usize = 20;

#[derive(Debug, Default, Serialize)]
pub struct TableDiff {
    pub compared: u64,
    pub differing: u64,
    /// Up to 20 ids present in only one database or with different values.
    pub ids: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub users: TableDiff,
    pub orders: TableDiff,
}

impl VerifyReport {
    pub fn is_equal(&self) -> bool {
        self.users.differing == 0 && self.orders.differing == 0
    }
}

pub async fn verify(
    local_pool: &MySqlPool,
    central_pool: &MySqlPool,
) -> Result<VerifyReport, sqlx::Error> {
    // The listing queries are the same SQL on both databases.
    let users = compare(
        |pool, after| local::list_users(pool, after, PAGE),
        local_pool,
        central_pool,
        |u| u.id,
    )
    .await?;
    let orders = compare(
        |pool, after| local::list_orders(pool, None, None, after, PAGE),
        local_pool,
        central_pool,
        |o| o.id,
    )
    .await?;
    Ok(VerifyReport { users, orders })
}

/// Merges two id-ordered streams of pages and counts the ids that differ.
async fn compare<'p, T, F, Fut>(
    page: F,
    local_pool: &'p MySqlPool,
    central_pool: &'p MySqlPool,
    id_of: impl Fn(&T) -> i64,
) -> Result<TableDiff, sqlx::Error>
where
    T: PartialEq,
    F: Fn(&'p MySqlPool, i64) -> Fut,
    Fut: Future<Output = Result<Vec<T>, sqlx::Error>>,
{
    let mut diff = TableDiff::default();
    let note = |diff: &mut TableDiff, id: i64| {
        diff.differing += 1;
        if diff.ids.len() < LISTED {
            diff.ids.push(id);
        }
    };
    let (mut a, mut b) = (Pager::default(), Pager::default());
    loop {
        a.refill(|after| page(local_pool, after), &id_of).await?;
        b.refill(|after| page(central_pool, after), &id_of).await?;
        let (row_a, row_b) = (a.peek(), b.peek());
        match (row_a, row_b) {
            (None, None) => return Ok(diff),
            (Some(ra), Some(rb)) => {
                let (ia, ib) = (id_of(ra), id_of(rb));
                diff.compared += 1;
                match ia.cmp(&ib) {
                    Ordering::Equal => {
                        if ra != rb {
                            note(&mut diff, ia);
                        }
                        a.advance();
                        b.advance();
                    }
                    Ordering::Less => {
                        note(&mut diff, ia);
                        a.advance();
                    }
                    Ordering::Greater => {
                        note(&mut diff, ib);
                        b.advance();
                    }
                }
            }
            (Some(ra), None) => {
                diff.compared += 1;
                note(&mut diff, id_of(ra));
                a.advance();
            }
            (None, Some(rb)) => {
                diff.compared += 1;
                note(&mut diff, id_of(rb));
                b.advance();
            }
        }
    }
}

/// One side of the merge: the current page and where the next one starts.
struct Pager<T> {
    rows: Vec<T>,
    at: usize,
    after: i64,
    done: bool,
}

impl<T> Default for Pager<T> {
    fn default() -> Self {
        Pager {
            rows: Vec::new(),
            at: 0,
            after: 0,
            done: false,
        }
    }
}

impl<T> Pager<T> {
    async fn refill<Fut>(
        &mut self,
        fetch: impl FnOnce(i64) -> Fut,
        id_of: impl Fn(&T) -> i64,
    ) -> Result<(), sqlx::Error>
    where
        Fut: Future<Output = Result<Vec<T>, sqlx::Error>>,
    {
        if self.at < self.rows.len() || self.done {
            return Ok(());
        }
        self.rows = fetch(self.after).await?;
        self.at = 0;
        match self.rows.last() {
            Some(last) => self.after = id_of(last),
            None => self.done = true,
        }
        Ok(())
    }

    fn peek(&self) -> Option<&T> {
        self.rows.get(self.at)
    }

    fn advance(&mut self) {
        self.at += 1;
    }
}
