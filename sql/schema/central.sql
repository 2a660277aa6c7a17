-- db_b: the central database. Ids are copied from db_a, never generated here.
-- Applied by `dbsync init`; every statement is idempotent.

CREATE TABLE IF NOT EXISTS users (
  id         BIGINT       NOT NULL,
  name       VARCHAR(100) NOT NULL,
  email      VARCHAR(100) NOT NULL,
  updated_at DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS orders (
  id         BIGINT        NOT NULL,
  user_id    BIGINT        NOT NULL,
  amount     DECIMAL(10,2) NOT NULL,
  status     ENUM('pending','shipped','delivered','cancelled') NOT NULL DEFAULT 'pending',
  updated_at DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  KEY idx_orders_user (user_id, id),
  CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The id of the newest queue change applied to each record, written in the same
-- transaction as the change itself. A change older than this is superseded and
-- skipped, so a retry, a requeue or a replay after a crash never moves a record
-- back to an older state.
CREATE TABLE IF NOT EXISTS sync_ledger (
  table_name     VARCHAR(64) NOT NULL,
  record_id      BIGINT      NOT NULL,
  last_change_id BIGINT      NOT NULL,
  PRIMARY KEY (table_name, record_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The highest queue change id ever applied, in one row. A change above it cannot have been
-- superseded, so only changes at or below it (retries, requeues, replays) need the ledger
-- looked up; in a steady drain that is none. Its row lock also serializes appliers.
CREATE TABLE IF NOT EXISTS sync_watermark (
  id             TINYINT NOT NULL,
  last_change_id BIGINT  NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT IGNORE INTO sync_watermark (id, last_change_id) VALUES (1, 0);
