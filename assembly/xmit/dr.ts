// dr.ts — LVS-DR: only the Ethernet header changes (destination = the RS's MAC, source = the
// director's). IP stays CIP -> VIP; the RS holds the VIP on loopback and answers the client
// directly, so the director never sees the replies. Needs an L2 device on the RS's segment.
import { RS_MAC } from '../abi';
import { setMacs } from './rewrite';

export function drIn(eth: usize, r: usize, devMac: usize): void {
  setMacs(eth, r + RS_MAC, devMac);
}
