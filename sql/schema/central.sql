-- db_b: the central database's own bookkeeping. The synced tables themselves are created
-- by `dbsync init` from db_a's definitions. Every statement is idempotent.

-- The queue id of the newest change applied to each record, written in the same
-- transaction as the change. A change older than this is superseded and skipped, so a
-- retry, a requeue or a replay after a crash never moves a record back to an older state.
-- site_id is '' for a single site (SITE_ID unset).
CREATE TABLE IF NOT EXISTS sync_ledger (
  site_id        VARCHAR(32)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  table_name     VARCHAR(64)     NOT NULL,
  record_key     VARBINARY(2048) NOT NULL,
  last_change_id BIGINT          NOT NULL,
  PRIMARY KEY (site_id, table_name, record_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per site. last_change_id is the highest change id the ledger holds for the site:
-- a change above it cannot have been superseded, so only changes at or below it need
-- their ledger entry looked up. applied_change_id and applied_fingerprint identify the
-- newest change applied, so a run can tell that db_a's queue went backwards (TRUNCATE, a
-- restored dump) before it applies anything. Its row lock also serializes a site's appliers.
CREATE TABLE IF NOT EXISTS sync_watermark (
  site_id             VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  last_change_id      BIGINT      NOT NULL DEFAULT 0,
  applied_change_id   BIGINT      NULL,
  applied_fingerprint BIGINT      NULL,
  -- The sync_identity token of the db_a that writes this site: no other may.
  owner               VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (site_id)
) ENGINE=InnoDB;

-- What db_b holds of each site's initial load, per table: the load's token and the chunks
-- committed, written in each chunk's transaction. A db_b restored from an older backup or
-- recreated holds less than db_a's sync_load says was copied: the table is copied again.
CREATE TABLE IF NOT EXISTS sync_load_marks (
  site_id    VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  token      VARCHAR(32) NOT NULL,
  chunks     BIGINT      NOT NULL,
  PRIMARY KEY (site_id, table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per site (SITE_ID) that syncs into this central database, written at the end of
-- each of its runs: head office sees which shop is behind without visiting it (`dbsync sites`).
CREATE TABLE IF NOT EXISTS sync_sites (
  site_id                    VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  last_run_id                BIGINT       NOT NULL,
  last_run_outcome           VARCHAR(16)  NOT NULL,
  last_run_at                TIMESTAMP(6) NOT NULL,
  last_run_message           TEXT         NULL,
  applied_in_last_run        BIGINT       NOT NULL DEFAULT 0,
  last_applied_change_id     BIGINT       NULL,
  pending_changes            BIGINT       NOT NULL DEFAULT 0,
  failed_changes             BIGINT       NOT NULL DEFAULT 0,
  oldest_pending_age_seconds BIGINT       NOT NULL DEFAULT 0,
  dbsync_version             VARCHAR(32)  NOT NULL,
  PRIMARY KEY (site_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
