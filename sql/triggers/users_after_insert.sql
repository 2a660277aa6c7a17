-- Capture every insert into users with its new row image.
CREATE TRIGGER users_after_insert AFTER INSERT ON users FOR EACH ROW
INSERT INTO sync_queue (table_name, record_id, operation, payload)
VALUES ('users', NEW.id, 'INSERT', JSON_OBJECT('id', NEW.id, 'name', NEW.name, 'email', NEW.email, 'updated_at', NEW.updated_at))
