// Preloaded (node --import) into the CLI processes the battery starts: writes the process's peak
// resident memory (KiB) to $RESNET_TEST_RSS_FILE when it exits, so a test can assert that a hostile
// input was refused without a huge allocation.
import { writeFileSync } from 'node:fs';

const file = process.env.RESNET_TEST_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
