-- title: 7. The same functions on a local directory (file://), no S3 needed
-- requires: dlake.write_text dlake.list dlake.read_text

\pset footer off

SELECT dlake.write_text('file://' || :'file_root' || '/demo/notes.txt', 'local lake, same API') AS bytes_written;
SELECT path, size FROM dlake.list('file://' || :'file_root' || '/demo/') ORDER BY path;
SELECT dlake.read_text('file://' || :'file_root' || '/demo/notes.txt') AS notes;
