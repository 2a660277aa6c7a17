-- Capture an update of orders. A primary-key change is queued as DELETE(old) + INSERT(new),
-- so db_b never keeps the old id; an update that changes no column queues nothing.
-- Strings are compared as bytes: a case-only change is a change. NEW.updated_at is not
-- compared: MariaDB shows the ON UPDATE time in NEW even when it keeps the row as it was,
-- so an explicit change of updated_at alone is detected by reading the stored row.
CREATE TRIGGER orders_after_update AFTER UPDATE ON orders FOR EACH ROW
BEGIN
  IF NOT (NEW.id <=> OLD.id) THEN
    INSERT INTO sync_queue (table_name, record_id, operation, payload)
    VALUES ('orders', OLD.id, 'DELETE', JSON_OBJECT('id', OLD.id, 'user_id', OLD.user_id, 'amount', CAST(OLD.amount AS CHAR), 'status', OLD.status, 'updated_at', OLD.updated_at)),
           ('orders', NEW.id, 'INSERT', JSON_OBJECT('id', NEW.id, 'user_id', NEW.user_id, 'amount', CAST(NEW.amount AS CHAR), 'status', NEW.status, 'updated_at', NEW.updated_at));
  ELSEIF NOT (NEW.user_id <=> OLD.user_id AND NEW.amount <=> OLD.amount AND BINARY NEW.status <=> BINARY OLD.status) THEN
    INSERT INTO sync_queue (table_name, record_id, operation, payload)
    VALUES ('orders', NEW.id, 'UPDATE', JSON_OBJECT('id', NEW.id, 'user_id', NEW.user_id, 'amount', CAST(NEW.amount AS CHAR), 'status', NEW.status, 'updated_at', NEW.updated_at));
  ELSEIF NOT (OLD.updated_at <=> (SELECT updated_at FROM orders WHERE id = NEW.id)) THEN
    INSERT INTO sync_queue (table_name, record_id, operation, payload)
    VALUES ('orders', NEW.id, 'UPDATE', JSON_OBJECT('id', NEW.id, 'user_id', NEW.user_id, 'amount', CAST(NEW.amount AS CHAR), 'status', NEW.status, 'updated_at', NEW.updated_at));
  END IF;
END
