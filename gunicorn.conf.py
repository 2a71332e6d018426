# gunicorn reads this file from the folder it starts in (make demo, the Docker image, the tests).
# The longest request line gunicorn allows: paged API lists carry their cursor and filters in
# the query string, and a refusal here would be gunicorn's HTML page, not the API's JSON error.
limit_request_line = 8190
