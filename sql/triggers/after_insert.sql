-- Capture every insert into {{table}} with its new row image, in the writer's transaction.
{{create_trigger}} {{trigger}} AFTER INSERT ON {{table}} FOR EACH ROW
INSERT INTO sync_queue (table_name, record_id, record_key, operation, payload)
VALUES ({{table_name}}, {{new_record_id}}, {{new_record_key}}, 'INSERT', {{new_image}})
