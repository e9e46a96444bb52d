//! Cursor pagination, newest first by id (UUIDv7 ids sort by creation time).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::StoreError;

/// Which page to read.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// Rows after (older than) this id; `None` for the first page.
    pub cursor: Option<Uuid>,
    /// Rows per page, 1–200.
    pub limit: u64,
}

/// One page of rows.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows, newest first.
    pub items: Vec<T>,
    /// The id to pass as cursor for the next page; `None` on the last page.
    pub next_cursor: Option<Uuid>,
}

/// Reads one page of `select`, ordered by `id_col` descending.
pub(crate) async fn fetch<E, C>(
    conn: &impl ConnectionTrait,
    select: Select<E>,
    id_col: C,
    id_of: impl Fn(&E::Model) -> Uuid,
    page: PageRequest,
) -> Result<Page<E::Model>, StoreError>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut select = select.order_by_desc(id_col).limit(page.limit + 1);
    if let Some(cursor) = page.cursor {
        select = select.filter(id_col.lt(cursor));
    }
    let mut items = select.all(conn).await?;
    let next_cursor = if items.len() as u64 > page.limit {
        items.truncate(page.limit as usize);
        items.last().map(&id_of)
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
