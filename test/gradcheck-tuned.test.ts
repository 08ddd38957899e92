import { describe } from 'vitest';
import { paperGradientCheck } from './support/paper-gradcheck.ts';

describe('gradient check: the paper\'s tuned network (dropout on, fixed step)', () => paperGradientCheck('tuned'));
