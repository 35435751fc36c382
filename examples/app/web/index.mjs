// A Node.js function: lambundle leaves it as the template has it.
export const handler = async () => ({ statusCode: 200, body: "hello from node" });
