-- What a search's stage says and why an item failed, as codes with parameters, so pages word
-- them in the reader's language; `stage_message` and `error` keep the English sentence.
ALTER TABLE jobs ADD COLUMN stage_note jsonb;
ALTER TABLE items ADD COLUMN fault jsonb;
