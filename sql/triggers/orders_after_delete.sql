-- Capture every delete from orders with the row image as it was.
CREATE TRIGGER orders_after_delete AFTER DELETE ON orders FOR EACH ROW
INSERT INTO sync_queue (table_name, record_id, operation, payload)
VALUES ('orders', OLD.id, 'DELETE', JSON_OBJECT('id', OLD.id, 'user_id', OLD.user_id, 'amount', CAST(OLD.amount AS CHAR), 'status', OLD.status, 'updated_at', OLD.updated_at))
