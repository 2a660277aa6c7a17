-- Capture every delete from users with the row image as it was.
CREATE TRIGGER users_after_delete AFTER DELETE ON users FOR EACH ROW
INSERT INTO sync_queue (table_name, record_id, operation, payload)
VALUES ('users', OLD.id, 'DELETE', JSON_OBJECT('id', OLD.id, 'name', OLD.name, 'email', OLD.email, 'updated_at', OLD.updated_at))
