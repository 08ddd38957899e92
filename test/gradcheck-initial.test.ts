import { describe } from 'vitest';
import { paperGradientCheck } from './support/paper-gradcheck.ts';

describe('gradient check: the paper\'s initial network', () => paperGradientCheck('initial'));
