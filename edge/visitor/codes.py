"""Close codes and HTTP refusals of the visitor websocket, in one table.

Application close codes live in 4000-4999 (RFC 6455 leaves them to us):

    4400  protocol   too many bad frames in a row
    4403  forbidden  blacklisted (later) or token bound to another site
    4408  timeout    no hello within the first-frame deadline, or idle too long
    4429  rate       message rate exceeded repeatedly, or too many connections
                     from one address
    4500  internal   a bug; the client may reconnect and resume
    1001  going away the server is stopping: reconnect (it or another) and resume
                     by seq; every message acknowledged before is stored
    1006  (abort)    the client did not read what it was sent (over the send
                     buffer limit, 1 MiB): the connection is cut without a close
                     frame, which would only queue behind the unread data; the
                     client reconnects and resumes by seq
    1009  too big    a frame over the hard limit (picows closes it)

Refusals before the upgrade are HTTP answers with a JSON body {"error": code}:
404 unknown_site, 403 origin_not_allowed, 400 bad_request.
"""

CLOSE_GOING_AWAY = 1001  # RFC 6455's own code for a server going down
CLOSE_PROTOCOL = 4400
CLOSE_FORBIDDEN = 4403
CLOSE_TIMEOUT = 4408
CLOSE_RATE = 4429
CLOSE_INTERNAL = 4500
