// Express 4 is installed under the alias "express4" so that both majors are tested; its runtime
// API for what the tests use is the same as Express 5's.
declare module 'express4' {
  import express from 'express'
  export default express
}
