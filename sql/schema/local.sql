-- db_a: the local database that takes writes while offline.
-- Applied by `dbsync init`; every statement is idempotent.

-- One row per captured change, written by the triggers in the writer's transaction.
-- payload is the row image (NEW for INSERT/UPDATE, OLD for DELETE) as JSON text; it is
-- LONGTEXT, not JSON, so no CHECK can make marking a bad row fail: the engine validates it.
-- record_id holds a one-column integer key (not BIGINT UNSIGNED: it outgrows a BIGINT);
-- record_key the JSON array of any other key.
-- Queue times are TIMESTAMPs (stored in UTC): writers' sessions may use other time zones.
CREATE TABLE IF NOT EXISTS sync_queue (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  table_name      VARCHAR(64)  NOT NULL,
  record_id       BIGINT       NULL,
  record_key      VARBINARY(2048) NULL,
  operation       ENUM('INSERT','UPDATE','DELETE') NOT NULL,
  payload         LONGTEXT     CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  created_at      TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  last_updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  sync_status     ENUM('PENDING','SYNCED','FAILED') NOT NULL DEFAULT 'PENDING',
  retry_count     INT          NOT NULL DEFAULT 0,
  last_error      TEXT         NULL,
  next_attempt_at TIMESTAMP(6) NULL,
  PRIMARY KEY (id),
  -- due PENDING changes in id order; counts by status; purge of old SYNCED rows
  KEY idx_queue_status_id (sync_status, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per sync run, so `status` can tell when the last run happened and how it ended.
CREATE TABLE IF NOT EXISTS sync_runs (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  started_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  finished_at TIMESTAMP(6) NULL,
  outcome     VARCHAR(16)  NOT NULL,
  applied     BIGINT       NOT NULL DEFAULT 0,
  failed      BIGINT       NOT NULL DEFAULT 0,
  message     TEXT         NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- This database's identity, made once: db_b's watermark row of the site records it, so a
-- second database configured with the same SITE_ID (or none) cannot write over the site.
-- A dump restored keeps it.
CREATE TABLE IF NOT EXISTS sync_identity (
  id    TINYINT     NOT NULL,
  token VARCHAR(32) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
INSERT IGNORE INTO sync_identity (id, token) VALUES (1, REPLACE(UUID(), '-', ''));

-- The definition of each synced table as `dbsync init` last captured it (the triggers write
-- images of exactly these columns). A run compares it with information_schema and stops
-- as `schema_changed` when they differ.
CREATE TABLE IF NOT EXISTS sync_tables (
  table_name  VARCHAR(64)  NOT NULL,
  spec        LONGTEXT     NOT NULL,
  captured_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Progress of the initial load (`dbsync resync`, `dbsync init --load`), one row per synced
-- table: the key of the last row copied. A load cut short (SIGKILL, db_b lost) resumes
-- from there; redoing the last chunk is harmless.
CREATE TABLE IF NOT EXISTS sync_load (
  table_name    VARCHAR(64)  NOT NULL,
  position      LONGTEXT     NULL,
  -- Rows read so far (the progress); rows_copied counts those db_b lacked or held otherwise.
  rows_checked  BIGINT       NOT NULL DEFAULT 0,
  rows_copied   BIGINT       NOT NULL DEFAULT 0,
  rows_removed  BIGINT       NOT NULL DEFAULT 0,
  rows_estimate BIGINT       NOT NULL DEFAULT 0,
  started_at    TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at    TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  finished_at   TIMESTAMP(6) NULL,
  -- Names this copy of the table; db_b's sync_load_marks holds it with the chunks it has.
  token         VARCHAR(32)  NULL,
  chunks        BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
