package surveygen

// Address styles: how houses are numbered in a kind of settlement.
const (
	styleColony       = iota // unauthorised colony or urban village: H.No. 123, Gali No. 4
	stylePlanned             // DDA sector, block or pocket: B-45, Block B; Flat 203, Pocket 4
	styleResettlement        // resettlement or JJ colony: C-4/123
	styleOldCity             // walled city and old bazaars: 1234, Gali Qasim Jan
)

// locality is a neighbourhood of Delhi with its real pincode and district
// and a GPS point roughly at its centre. Wards (the survey areas) are
// numbered per district when the generator starts.
type locality struct {
	name     string
	variants []string // other ways a survey worker writes the name
	pincode  string
	district string // NW, N, NE, E, SH, C, ND, S, SE, SW, W
	city     string // as written on letters: Delhi or New Delhi
	lat, lon float64
	radius   float64 // spread of houses around the centre, in degrees
	style    int
	weight   float64 // relative number of households surveyed
	bias     [nComm]float64
	sector   int // Rohini and Dwarka sectors, written on planned addresses
}

// bias builds a community bias from pairs of community and multiplier;
// unlisted communities keep a multiplier of 1.
func bias(pairs ...float64) [nComm]float64 {
	var b [nComm]float64
	for i := range b {
		b[i] = 1
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		b[int(pairs[i])] = pairs[i+1]
	}
	return b
}

// localities returns the neighbourhoods the survey visits. Weights lean
// towards the dense unplanned colonies and resettlement colonies, where a
// door-to-door programme does most of its work.
func localities() []locality {
	return []locality{
		{name: "Rohini Sector 7", variants: []string{"Sector 7 Rohini", "Rohini Sec-7", "Rohini Sector-7"}, pincode: "110085", district: "NW", city: "Delhi", lat: 28.7075, lon: 77.1145, radius: 0.004, style: stylePlanned, weight: 3, bias: bias(), sector: 7},
		{name: "Pitampura", variants: []string{"Pitam Pura", "Pitampura"}, pincode: "110034", district: "NW", city: "Delhi", lat: 28.6980, lon: 77.1330, radius: 0.006, style: stylePlanned, weight: 2, bias: bias(cPunjabi, 2)},
		{name: "Shalimar Bagh", variants: []string{"Shalimar Bag", "Shalimarbagh"}, pincode: "110088", district: "NW", city: "Delhi", lat: 28.7160, lon: 77.1620, radius: 0.006, style: stylePlanned, weight: 2, bias: bias(cPunjabi, 2)},
		{name: "Ashok Vihar", variants: []string{"Ashok Vihar Phase 1", "Ashok Vihar Ph-I"}, pincode: "110052", district: "NW", city: "Delhi", lat: 28.6910, lon: 77.1760, radius: 0.005, style: stylePlanned, weight: 1.5, bias: bias()},
		{name: "Mangolpuri", variants: []string{"Mangol Puri", "Mangolpuri"}, pincode: "110083", district: "NW", city: "Delhi", lat: 28.6930, lon: 77.0860, radius: 0.006, style: styleResettlement, weight: 3, bias: bias()},
		{name: "Sultanpuri", variants: []string{"Sultan Puri", "Sultanpuri"}, pincode: "110086", district: "NW", city: "Delhi", lat: 28.6950, lon: 77.0700, radius: 0.005, style: styleResettlement, weight: 2.5, bias: bias()},
		{name: "Jahangirpuri", variants: []string{"Jahangir Puri", "Jahagirpuri"}, pincode: "110033", district: "NW", city: "Delhi", lat: 28.7270, lon: 77.1660, radius: 0.006, style: styleResettlement, weight: 3, bias: bias(cMuslim, 1.8, cBengali, 3)},
		{name: "Bawana", variants: []string{"Bawana JJ Colony", "Bavana"}, pincode: "110039", district: "NW", city: "Delhi", lat: 28.7980, lon: 77.0330, radius: 0.007, style: styleResettlement, weight: 1.5, bias: bias(cMuslim, 1.5)},
		{name: "Narela", variants: []string{"Narela", "Narela Village"}, pincode: "110040", district: "N", city: "Delhi", lat: 28.8520, lon: 77.0920, radius: 0.008, style: styleColony, weight: 2, bias: bias()},
		{name: "Burari", variants: []string{"Burari", "Burari Extn."}, pincode: "110084", district: "N", city: "Delhi", lat: 28.7560, lon: 77.2000, radius: 0.008, style: styleColony, weight: 3.5, bias: bias(cNorth, 1.3)},
		{name: "Model Town", variants: []string{"Model Town-II", "Model Town 2"}, pincode: "110009", district: "N", city: "Delhi", lat: 28.7150, lon: 77.1910, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cPunjabi, 3, cSikh, 1.5)},
		{name: "Mukherjee Nagar", variants: []string{"Mukharjee Nagar", "Mukherji Nagar"}, pincode: "110009", district: "N", city: "Delhi", lat: 28.7080, lon: 77.2090, radius: 0.004, style: stylePlanned, weight: 1, bias: bias()},
		{name: "Sadar Bazar", variants: []string{"Sadar Bazaar", "Sadar Bajar"}, pincode: "110006", district: "N", city: "Delhi", lat: 28.6580, lon: 77.2110, radius: 0.003, style: styleOldCity, weight: 1, bias: bias(cMuslim, 2)},
		{name: "Civil Lines", variants: []string{"Civil Line", "Civil Lines"}, pincode: "110054", district: "N", city: "Delhi", lat: 28.6800, lon: 77.2250, radius: 0.005, style: stylePlanned, weight: 0.5, bias: bias()},
		{name: "Chandni Chowk", variants: []string{"Chandani Chowk", "Chandni Chauk"}, pincode: "110006", district: "C", city: "Delhi", lat: 28.6560, lon: 77.2300, radius: 0.003, style: styleOldCity, weight: 1.5, bias: bias(cMuslim, 2, cPunjabi, 1.5)},
		{name: "Daryaganj", variants: []string{"Darya Ganj", "Dariyaganj"}, pincode: "110002", district: "C", city: "New Delhi", lat: 28.6440, lon: 77.2420, radius: 0.003, style: styleOldCity, weight: 1, bias: bias(cMuslim, 3)},
		{name: "Paharganj", variants: []string{"Pahar Ganj", "Paharganj"}, pincode: "110055", district: "C", city: "New Delhi", lat: 28.6440, lon: 77.2130, radius: 0.003, style: styleOldCity, weight: 1.5, bias: bias()},
		{name: "Karol Bagh", variants: []string{"Karolbagh", "Karol Bag"}, pincode: "110005", district: "C", city: "New Delhi", lat: 28.6520, lon: 77.1900, radius: 0.004, style: stylePlanned, weight: 2, bias: bias(cPunjabi, 2.5, cTamil, 2)},
		{name: "Patel Nagar", variants: []string{"West Patel Nagar", "Patel Ngr"}, pincode: "110008", district: "C", city: "New Delhi", lat: 28.6510, lon: 77.1680, radius: 0.004, style: stylePlanned, weight: 1.5, bias: bias(cPunjabi, 3)},
		{name: "Rajinder Nagar", variants: []string{"Old Rajinder Nagar", "Rajender Nagar"}, pincode: "110060", district: "C", city: "New Delhi", lat: 28.6390, lon: 77.1840, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cPunjabi, 3)},
		{name: "Laxmi Nagar", variants: []string{"Lakshmi Nagar", "Luxmi Nagar", "Laxmi Ngr"}, pincode: "110092", district: "E", city: "Delhi", lat: 28.6310, lon: 77.2780, radius: 0.005, style: styleColony, weight: 3, bias: bias()},
		{name: "Shakarpur", variants: []string{"Shakar Pur", "Shakarpur Khas"}, pincode: "110092", district: "E", city: "Delhi", lat: 28.6280, lon: 77.2850, radius: 0.004, style: styleColony, weight: 2, bias: bias()},
		{name: "Mayur Vihar Phase 1", variants: []string{"Mayur Vihar Ph-I", "Mayur Vihar-1", "Mayur Vihar Phase I"}, pincode: "110091", district: "E", city: "Delhi", lat: 28.6050, lon: 77.2940, radius: 0.005, style: stylePlanned, weight: 2, bias: bias(cTamil, 3, cMalayali, 3, cTelugu, 2, cBengali, 1.5, cChristian, 2)},
		{name: "Trilokpuri", variants: []string{"Trilok Puri", "Trilokpuri"}, pincode: "110091", district: "E", city: "Delhi", lat: 28.6090, lon: 77.3070, radius: 0.005, style: styleResettlement, weight: 2.5, bias: bias(cMuslim, 1.5)},
		{name: "Kalyanpuri", variants: []string{"Kalyan Puri", "Kalyanpuri"}, pincode: "110091", district: "E", city: "Delhi", lat: 28.6140, lon: 77.3200, radius: 0.004, style: styleResettlement, weight: 1.5, bias: bias()},
		{name: "Preet Vihar", variants: []string{"Preet Vihar", "Prit Vihar"}, pincode: "110092", district: "E", city: "Delhi", lat: 28.6410, lon: 77.2950, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cPunjabi, 2)},
		{name: "Seelampur", variants: []string{"Silampur", "Seelam Pur"}, pincode: "110053", district: "NE", city: "Delhi", lat: 28.6700, lon: 77.2700, radius: 0.005, style: styleColony, weight: 3, bias: bias(cMuslim, 6)},
		{name: "Jafrabad", variants: []string{"Jaffrabad", "Zafrabad"}, pincode: "110053", district: "NE", city: "Delhi", lat: 28.6830, lon: 77.2720, radius: 0.004, style: styleColony, weight: 2, bias: bias(cMuslim, 7)},
		{name: "Mustafabad", variants: []string{"Mustfabad", "Mustafabad"}, pincode: "110094", district: "NE", city: "Delhi", lat: 28.7130, lon: 77.2800, radius: 0.005, style: styleColony, weight: 3, bias: bias(cMuslim, 5)},
		{name: "Karawal Nagar", variants: []string{"Karawal Ngr", "Karaval Nagar"}, pincode: "110094", district: "NE", city: "Delhi", lat: 28.7290, lon: 77.2770, radius: 0.006, style: styleColony, weight: 3, bias: bias(cNorth, 1.3)},
		{name: "Bhajanpura", variants: []string{"Bhajan Pura", "Bhajanpura"}, pincode: "110053", district: "NE", city: "Delhi", lat: 28.7000, lon: 77.2630, radius: 0.004, style: styleColony, weight: 2, bias: bias(cMuslim, 1.5)},
		{name: "Shahdara", variants: []string{"Shahdra", "Shahadara"}, pincode: "110032", district: "SH", city: "Delhi", lat: 28.6730, lon: 77.2900, radius: 0.005, style: styleColony, weight: 2, bias: bias()},
		{name: "Dilshad Garden", variants: []string{"Dilshad Gdn", "Dilshad Garden"}, pincode: "110095", district: "SH", city: "Delhi", lat: 28.6810, lon: 77.3200, radius: 0.005, style: stylePlanned, weight: 1.5, bias: bias()},
		{name: "Vivek Vihar", variants: []string{"Vivek Vihar Phase 1", "Vivek Vihar"}, pincode: "110095", district: "SH", city: "Delhi", lat: 28.6720, lon: 77.3150, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cPunjabi, 1.5)},
		{name: "Old Seemapuri", variants: []string{"Seemapuri", "Seema Puri"}, pincode: "110095", district: "SH", city: "Delhi", lat: 28.6860, lon: 77.3210, radius: 0.004, style: styleResettlement, weight: 1.5, bias: bias(cMuslim, 3, cBengali, 3)},
		{name: "Jamia Nagar", variants: []string{"Jamia Nagar, Okhla", "Batla House", "Jamia Ngr"}, pincode: "110025", district: "SE", city: "New Delhi", lat: 28.5620, lon: 77.2830, radius: 0.005, style: styleColony, weight: 2.5, bias: bias(cMuslim, 12)},
		{name: "Zakir Nagar", variants: []string{"Jakir Nagar", "Zakir Nagar, Okhla"}, pincode: "110025", district: "SE", city: "New Delhi", lat: 28.5690, lon: 77.2770, radius: 0.003, style: styleColony, weight: 1.5, bias: bias(cMuslim, 14)},
		{name: "Govindpuri", variants: []string{"Govind Puri", "Gobindpuri"}, pincode: "110019", district: "SE", city: "New Delhi", lat: 28.5360, lon: 77.2640, radius: 0.004, style: styleColony, weight: 2, bias: bias(cBengali, 1.5)},
		{name: "Kalkaji", variants: []string{"Kalka Ji", "Kalkaji"}, pincode: "110019", district: "SE", city: "New Delhi", lat: 28.5400, lon: 77.2580, radius: 0.004, style: stylePlanned, weight: 1.5, bias: bias(cPunjabi, 2)},
		{name: "Chittaranjan Park", variants: []string{"C.R. Park", "CR Park", "Chitranjan Park"}, pincode: "110019", district: "SE", city: "New Delhi", lat: 28.5390, lon: 77.2480, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cBengali, 18)},
		{name: "Tughlakabad Extension", variants: []string{"Tughlakabad Extn.", "Tuglakabad Extension"}, pincode: "110019", district: "SE", city: "New Delhi", lat: 28.5160, lon: 77.2600, radius: 0.004, style: styleColony, weight: 2, bias: bias(cMuslim, 1.5)},
		{name: "Lajpat Nagar", variants: []string{"Lajpat Nagar-II", "Lajpat Ngr"}, pincode: "110024", district: "SE", city: "New Delhi", lat: 28.5680, lon: 77.2430, radius: 0.004, style: stylePlanned, weight: 1.5, bias: bias(cPunjabi, 3, cSikh, 1.5)},
		{name: "Madanpur Khadar", variants: []string{"Madanpur Khaddar", "Madan Pur Khadar"}, pincode: "110076", district: "SE", city: "New Delhi", lat: 28.5330, lon: 77.3040, radius: 0.005, style: styleResettlement, weight: 2, bias: bias(cMuslim, 1.5)},
		{name: "Badarpur", variants: []string{"Badarpur", "Badar Pur"}, pincode: "110044", district: "SE", city: "New Delhi", lat: 28.4930, lon: 77.3030, radius: 0.005, style: styleColony, weight: 2, bias: bias(cNorth, 1.2)},
		{name: "Sangam Vihar", variants: []string{"Sangam Vihar Extn.", "Sangam Vihar"}, pincode: "110062", district: "S", city: "New Delhi", lat: 28.4990, lon: 77.2420, radius: 0.007, style: styleColony, weight: 4.5, bias: bias(cNorth, 1.3)},
		{name: "Khanpur", variants: []string{"Khan Pur", "Khanpur"}, pincode: "110062", district: "S", city: "New Delhi", lat: 28.5090, lon: 77.2330, radius: 0.004, style: styleColony, weight: 1.5, bias: bias()},
		{name: "Malviya Nagar", variants: []string{"Malviya Ngr", "Malaviya Nagar"}, pincode: "110017", district: "S", city: "New Delhi", lat: 28.5330, lon: 77.2090, radius: 0.004, style: stylePlanned, weight: 1.5, bias: bias(cPunjabi, 2)},
		{name: "Saket", variants: []string{"Saket", "Saket J Block"}, pincode: "110017", district: "S", city: "New Delhi", lat: 28.5240, lon: 77.2060, radius: 0.004, style: stylePlanned, weight: 1, bias: bias()},
		{name: "Mehrauli", variants: []string{"Mehrauli Village", "Mahrauli"}, pincode: "110030", district: "S", city: "New Delhi", lat: 28.5180, lon: 77.1790, radius: 0.005, style: styleColony, weight: 2, bias: bias(cMuslim, 2)},
		{name: "R.K. Puram", variants: []string{"RK Puram", "Rama Krishna Puram", "R K Puram"}, pincode: "110022", district: "ND", city: "New Delhi", lat: 28.5660, lon: 77.1760, radius: 0.005, style: stylePlanned, weight: 1.5, bias: bias(cTamil, 5, cMalayali, 4, cTelugu, 3, cKannada, 3)},
		{name: "Munirka", variants: []string{"Munirka Village", "Munirka"}, pincode: "110067", district: "ND", city: "New Delhi", lat: 28.5550, lon: 77.1720, radius: 0.003, style: styleColony, weight: 1.5, bias: bias(cTamil, 2, cMalayali, 2)},
		{name: "Vasant Kunj", variants: []string{"Vasant Kunj", "Basant Kunj"}, pincode: "110070", district: "SW", city: "New Delhi", lat: 28.5200, lon: 77.1580, radius: 0.006, style: stylePlanned, weight: 1.5, bias: bias()},
		{name: "Mahipalpur", variants: []string{"Mahipal Pur", "Mahipalpur Extn."}, pincode: "110037", district: "SW", city: "New Delhi", lat: 28.5450, lon: 77.1260, radius: 0.004, style: styleColony, weight: 1.5, bias: bias()},
		{name: "Dwarka Sector 7", variants: []string{"Sector 7 Dwarka", "Dwarka Sec-7", "Dwarka Sector-7"}, pincode: "110075", district: "SW", city: "New Delhi", lat: 28.5850, lon: 77.0700, radius: 0.004, style: stylePlanned, weight: 2, bias: bias(cTamil, 1.5, cMalayali, 2, cChristian, 1.5), sector: 7},
		{name: "Palam", variants: []string{"Palam Village", "Palam Colony"}, pincode: "110045", district: "SW", city: "New Delhi", lat: 28.5890, lon: 77.0850, radius: 0.005, style: styleColony, weight: 2.5, bias: bias()},
		{name: "Najafgarh", variants: []string{"Najaf Garh", "Nazafgarh"}, pincode: "110043", district: "SW", city: "New Delhi", lat: 28.6090, lon: 76.9790, radius: 0.007, style: styleColony, weight: 3, bias: bias(cNorth, 1.3)},
		{name: "Uttam Nagar", variants: []string{"Uttam Ngr", "Uttam Nagar West"}, pincode: "110059", district: "W", city: "New Delhi", lat: 28.6210, lon: 77.0560, radius: 0.006, style: styleColony, weight: 4, bias: bias()},
		{name: "Janakpuri", variants: []string{"Janak Puri", "Janakpuri"}, pincode: "110058", district: "W", city: "New Delhi", lat: 28.6220, lon: 77.0870, radius: 0.006, style: stylePlanned, weight: 2, bias: bias(cPunjabi, 2, cSikh, 2)},
		{name: "Vikaspuri", variants: []string{"Vikas Puri", "Vikaspuri"}, pincode: "110018", district: "W", city: "New Delhi", lat: 28.6390, lon: 77.0710, radius: 0.005, style: stylePlanned, weight: 1.5, bias: bias(cSikh, 1.5, cPunjabi, 1.5)},
		{name: "Tilak Nagar", variants: []string{"Tilak Ngr", "Tilak Nagar"}, pincode: "110018", district: "W", city: "New Delhi", lat: 28.6400, lon: 77.0960, radius: 0.004, style: stylePlanned, weight: 1.5, bias: bias(cSikh, 5, cPunjabi, 2)},
		{name: "Rajouri Garden", variants: []string{"Rajouri Gdn", "Rajori Garden"}, pincode: "110027", district: "W", city: "New Delhi", lat: 28.6490, lon: 77.1230, radius: 0.004, style: stylePlanned, weight: 1.5, bias: bias(cSikh, 4, cPunjabi, 3)},
		{name: "Punjabi Bagh", variants: []string{"Punjabi Bag", "Panjabi Bagh"}, pincode: "110026", district: "W", city: "New Delhi", lat: 28.6680, lon: 77.1320, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cPunjabi, 4, cSikh, 2)},
		{name: "Paschim Vihar", variants: []string{"Paschim Vihar", "Pashchim Vihar"}, pincode: "110063", district: "W", city: "New Delhi", lat: 28.6690, lon: 77.0940, radius: 0.005, style: stylePlanned, weight: 1.5, bias: bias(cPunjabi, 2)},
		{name: "Nangloi", variants: []string{"Nangloi Extn.", "Nangloi Jat"}, pincode: "110041", district: "W", city: "Delhi", lat: 28.6800, lon: 77.0650, radius: 0.006, style: styleColony, weight: 3, bias: bias(cNorth, 1.2)},
		{name: "Moti Nagar", variants: []string{"Moti Ngr", "Moti Nagar"}, pincode: "110015", district: "W", city: "New Delhi", lat: 28.6580, lon: 77.1420, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cPunjabi, 2)},
		{name: "Kirti Nagar", variants: []string{"Kirti Ngr", "Kirti Nagar"}, pincode: "110015", district: "W", city: "New Delhi", lat: 28.6550, lon: 77.1480, radius: 0.004, style: stylePlanned, weight: 1, bias: bias(cSikh, 2, cPunjabi, 1.5)},
	}
}
