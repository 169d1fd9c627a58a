'use strict';
// Loads the compiled addon (built by `node-gyp rebuild` at install time).
module.exports = require('./build/Release/hadhcp_native.node');
