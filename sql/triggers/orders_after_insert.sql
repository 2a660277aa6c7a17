-- Capture every insert into orders with its new row image.
CREATE TRIGGER orders_after_insert AFTER INSERT ON orders FOR EACH ROW
INSERT INTO sync_queue (table_name, record_id, operation, payload)
VALUES ('orders', NEW.id, 'INSERT', JSON_OBJECT('id', NEW.id, 'user_id', NEW.user_id, 'amount', CAST(NEW.amount AS CHAR), 'status', NEW.status, 'updated_at', NEW.updated_at))
