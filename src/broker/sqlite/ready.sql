-- Whether a claim of hunt :hunt by :consumer would find a task: the poll of an idle
-- worker, a read that takes no write lock.
SELECT EXISTS (SELECT 1 FROM task WHERE hunt = :hunt AND state = 'NotStarted')
    OR EXISTS (SELECT 1 FROM task
                WHERE hunt = :hunt AND state = 'Running'
                  AND (lease_until < :now OR consumer = :consumer))
