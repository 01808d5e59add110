import 'reflect-metadata';
import { runService } from '@push/service-kit';
import { subscriptionStateService } from './service';

void runService(subscriptionStateService);
