import type { Socket } from 'node:net'

/**
 * Requests Node's parser rejects never reach Fastify's handlers (a header too large, a bad
 * line ending). They are answered here, on the raw socket, as problem+json like every
 * other refusal, then the connection is closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable || socket.bytesWritten > 0) {
    socket.destroy(error)
    return
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW'
  const status = tooLarge ? 431 : 400
  const body = JSON.stringify({
    type: 'about:blank',
    title: tooLarge ? 'Request Header Fields Too Large' : 'Bad Request',
    status,
    detail: tooLarge
      ? 'The request line and headers are larger than this service accepts; send less.'
      : 'The request could not be read as HTTP; check its request line and headers.',
    instance: '',
    code: tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_HTTP',
  })
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  )
}
