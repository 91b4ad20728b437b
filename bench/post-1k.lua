-- wrk script: a 1 KiB (1,024 bytes) JSON POST, the benchmark's webhook-sized request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"data":"' .. string.rep("x", 1024 - 11) .. '"}'
