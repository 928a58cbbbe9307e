-- name: DeviceTokenDeleteByUser :exec
DELETE FROM device_tokens WHERE user_id = @user_id;

-- name: DeviceTokenDeleteExpired :execrows
DELETE FROM device_tokens
WHERE hash IN (SELECT d.hash FROM device_tokens d WHERE d.expires_at < @before LIMIT @max_rows);
