-- Capture an update of {{table}}. A key change is queued as DELETE(old) + INSERT(new), so db_b
-- never keeps the old key; an update that changes no column queues nothing. Text is compared
-- as bytes: a case-only change is a change. An ON UPDATE CURRENT_TIMESTAMP column is not
-- compared through NEW (MariaDB shows the new time there even when it keeps the row as it
-- was): a change of it alone is detected by reading the stored row.
-- UPDATE IGNORE fires this trigger also for rows it left unchanged (the change would have
-- duplicated a key or broken a foreign key): only a change the table now holds is queued.
{{create_trigger}} {{trigger}} AFTER UPDATE ON {{table}} FOR EACH ROW
BEGIN
  IF {{update_applied}} THEN
    IF {{key_changed}} THEN
      INSERT INTO sync_queue (table_name, record_id, record_key, operation, payload)
      VALUES ({{table_name}}, {{old_record_id}}, {{old_record_key}}, 'DELETE', {{old_image}}),
             ({{table_name}}, {{new_record_id}}, {{new_record_key}}, 'INSERT', {{new_image}});
    ELSEIF {{columns_changed}} THEN
      INSERT INTO sync_queue (table_name, record_id, record_key, operation, payload)
      VALUES ({{table_name}}, {{new_record_id}}, {{new_record_key}}, 'UPDATE', {{new_image}});
    ELSEIF {{stored_row_changed}} THEN
      INSERT INTO sync_queue (table_name, record_id, record_key, operation, payload)
      VALUES ({{table_name}}, {{new_record_id}}, {{new_record_key}}, 'UPDATE', {{new_image}});
    END IF;
  END IF;
END
