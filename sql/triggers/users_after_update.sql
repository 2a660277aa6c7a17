-- Capture an update of users. A primary-key change is queued as DELETE(old) + INSERT(new),
-- so db_b never keeps the old id; an update that changes no column queues nothing.
-- Strings are compared as bytes: a case-only change is a change. NEW.updated_at is not
-- compared: MariaDB shows the ON UPDATE time in NEW even when it keeps the row as it was,
-- so an explicit change of updated_at alone is detected by reading the stored row.
CREATE TRIGGER users_after_update AFTER UPDATE ON users FOR EACH ROW
BEGIN
  IF NOT (NEW.id <=> OLD.id) THEN
    INSERT INTO sync_queue (table_name, record_id, operation, payload)
    VALUES ('users', OLD.id, 'DELETE', JSON_OBJECT('id', OLD.id, 'name', OLD.name, 'email', OLD.email, 'updated_at', OLD.updated_at)),
           ('users', NEW.id, 'INSERT', JSON_OBJECT('id', NEW.id, 'name', NEW.name, 'email', NEW.email, 'updated_at', NEW.updated_at));
  ELSEIF NOT (BINARY NEW.name <=> BINARY OLD.name AND BINARY NEW.email <=> BINARY OLD.email) THEN
    INSERT INTO sync_queue (table_name, record_id, operation, payload)
    VALUES ('users', NEW.id, 'UPDATE', JSON_OBJECT('id', NEW.id, 'name', NEW.name, 'email', NEW.email, 'updated_at', NEW.updated_at));
  ELSEIF NOT (OLD.updated_at <=> (SELECT updated_at FROM users WHERE id = NEW.id)) THEN
    INSERT INTO sync_queue (table_name, record_id, operation, payload)
    VALUES ('users', NEW.id, 'UPDATE', JSON_OBJECT('id', NEW.id, 'name', NEW.name, 'email', NEW.email, 'updated_at', NEW.updated_at));
  END IF;
END
