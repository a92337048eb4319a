-- Claims one task of hunt :hunt for :consumer, in one statement: a task whose lease ran
-- out (or that this consumer held before it restarted) first, else the first task not
-- yet started. The claim bumps the attempts and the fence, so any report of an earlier
-- holder no longer matches. Run inside BEGIN IMMEDIATE, with the events it causes.
UPDATE task
   SET state = 'Running', worker = :worker, consumer = :consumer,
       attempts = attempts + 1, token = token + 1,
       lease_until = :until, note = NULL
 WHERE rowid = coalesce(
       (SELECT rowid FROM task
         WHERE hunt = :hunt AND state = 'Running'
           AND (lease_until < :now OR consumer = :consumer)
         ORDER BY id LIMIT 1),
       (SELECT rowid FROM task
         WHERE hunt = :hunt AND state = 'NotStarted'
         ORDER BY id LIMIT 1))
RETURNING id, pos_from, pos_to, attempts, token
