-- db_a: the local database that takes writes while offline.
-- Applied by `dbsync init`; every statement is idempotent.

CREATE TABLE IF NOT EXISTS users (
  id         BIGINT       NOT NULL AUTO_INCREMENT,
  name       VARCHAR(100) NOT NULL,
  email      VARCHAR(100) NOT NULL,
  updated_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS orders (
  id         BIGINT        NOT NULL AUTO_INCREMENT,
  user_id    BIGINT        NOT NULL,
  amount     DECIMAL(10,2) NOT NULL,
  status     ENUM('pending','shipped','delivered','cancelled') NOT NULL DEFAULT 'pending',
  updated_at DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY idx_orders_user (user_id, id),
  KEY idx_orders_status (status, id),
  CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per captured change, written by the triggers in the writer's transaction.
-- payload is the row image (NEW for INSERT/UPDATE, OLD for DELETE). Queue times are
-- TIMESTAMPs (stored in UTC) because writers' sessions may use different time zones.
CREATE TABLE IF NOT EXISTS sync_queue (
  id              BIGINT      NOT NULL AUTO_INCREMENT,
  table_name      VARCHAR(64) NOT NULL,
  record_id       BIGINT      NOT NULL,
  operation       ENUM('INSERT','UPDATE','DELETE') NOT NULL,
  payload         JSON        NULL,
  last_updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  sync_status     ENUM('PENDING','SYNCED','FAILED') NOT NULL DEFAULT 'PENDING',
  retry_count     INT         NOT NULL DEFAULT 0,
  last_error      TEXT        NULL,
  next_attempt_at TIMESTAMP(6) NULL,
  PRIMARY KEY (id),
  -- due PENDING changes in id order; counts by status; purge of old SYNCED rows
  KEY idx_queue_status_id (sync_status, id),
  -- the history of one record (ordering, "waits behind" checks, requeue)
  KEY idx_queue_record (table_name, record_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per sync run, so `status` can tell when the last run happened and how it ended.
CREATE TABLE IF NOT EXISTS sync_runs (
  id          BIGINT      NOT NULL AUTO_INCREMENT,
  started_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  finished_at TIMESTAMP(6) NULL,
  outcome     VARCHAR(16) NOT NULL,
  applied     BIGINT      NOT NULL DEFAULT 0,
  failed      BIGINT      NOT NULL DEFAULT 0,
  message     TEXT        NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
