import { FakeKubeClient } from '../../../src/kube/fake.js';
import { kubeContract } from '../../contract/kube/kube-contract.js';

kubeContract('in-memory fake', () => {
  const fake = new FakeKubeClient();
  return Promise.resolve({
    client: fake,
    namespace: 'contract',
    expireHistory: () => {
      fake.forceGone();
    },
  });
}, { canExpireHistory: true });
