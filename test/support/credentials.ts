/** The admin key every test service accepts (ADMIN_API_KEY), sent unless a test says otherwise. */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz'

export const ADMIN_AUTH = { authorization: `Bearer ${TEST_ADMIN_KEY}` }
