-- Capture every delete from {{table}} with the row image as it was.
{{create_trigger}} {{trigger}} AFTER DELETE ON {{table}} FOR EACH ROW
INSERT INTO sync_queue (table_name, record_id, record_key, operation, payload)
VALUES ({{table_name}}, {{old_record_id}}, {{old_record_key}}, 'DELETE', {{old_image}})
