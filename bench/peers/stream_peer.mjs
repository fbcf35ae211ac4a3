#!/usr/bin/env node
// The Stream peer: the official Node SDK (`dingtalk-stream`) receiving bot messages and ACKing each in its
// callback, without persisting anything: the baseline a user would otherwise pick. The SDK has the gateway URL
// as a constant, so its axios requests to api.dingtalk.com are redirected to the simulator given in
// SIM_BASE_URL (the same simulator DingBridge connects to). Prints `STREAM_PEER=connected` once the socket is up.
import axios from 'axios';
import { DWClient, TOPIC_ROBOT } from 'dingtalk-stream';

const sim = process.env.SIM_BASE_URL;
if (!sim) throw new Error('SIM_BASE_URL is required');
axios.interceptors.request.use((config) => {
  config.url = config.url.replace(/^https:\/\/(api|oapi)\.dingtalk\.com/, sim);
  return config;
});

// The SDK logs every connect on stdout; the announcement line is what the harness reads.
console.info = () => {};
const client = new DWClient({ clientId: process.env.SIM_CLIENT_ID, clientSecret: process.env.SIM_CLIENT_SECRET });
client.registerCallbackListener(TOPIC_ROBOT, (message) => {
  client.socketCallBackResponse(message.headers.messageId, {});
});
await client.connect();
const wait = setInterval(() => {
  if (client.connected) {
    clearInterval(wait);
    process.stdout.write('STREAM_PEER=connected\n');
  }
}, 5);
process.on('SIGTERM', () => process.exit(0));
